"""The contract wing: "may this request be answered?". The schemas of schemas/ loaded and
compiled once, the catalog's per-model clauses, violations as `{loc, msg, type}` items, admission
(the rules a schema cannot say) and the published OpenAPI document. Pure: knows no HTTP."""
