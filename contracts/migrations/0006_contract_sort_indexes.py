from django.db import migrations, models


def expiration_desc_index_create(apps, schema_editor):
    # PostgreSQL only: SQLite refuses NULLS LAST in an index (see Contract.Meta.indexes).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX contract_expiration_desc ON contracts_contract (expiration_date DESC NULLS LAST)"
        )


def expiration_desc_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS contract_expiration_desc")


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0004_statuschange_latest_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="contract",
            index=models.Index(fields=["name"], name="contract_name"),
        ),
        migrations.AddIndex(
            model_name="contract",
            index=models.Index(fields=["expiration_date"], name="contract_expiration"),
        ),
        migrations.RunPython(expiration_desc_index_create, expiration_desc_index_drop),
    ]
