"""``{% navigation_buttons buttons %}``: the buttons that open the external CLM (SPEC §3.6)."""

from django import template

from connectors.navigation import NavigationButton

register = template.Library()


@register.inclusion_tag("connectors/_navigation_buttons.html")
def navigation_buttons(buttons):
    """Renders a list of ``NavigationButton`` (or a single one, or ``None``); nothing when empty."""
    if buttons is None:
        buttons = []
    elif isinstance(buttons, NavigationButton):
        buttons = [buttons]
    return {"buttons": buttons}
