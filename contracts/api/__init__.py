"""The REST API for external systems under /api/v1/ (SPEC §8), thin over contracts.services.

authentication  API keys (``Authorization: Bearer <key>``) next to browser sessions
permissions     who the caller is, role × legal entity × endpoint
errors          one error body for every failure: {"errors": [{field, message, code}]}
conditional     ETag / If-Match / If-None-Match
idempotency     Idempotency-Key on POST
serializers     JSON in (types only) and out (natural keys); rules stay in the services
views, urls     the endpoints; docs/api.md describes them for integrators
masterdata      master data for the CLM with change tracking (signed cursors over ChangeLog)
deeplinks       signed links to a vendor, contract or agreement
connections     connection status and navigation links, managed by the CLM
"""
