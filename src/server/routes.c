/*
 * routes.c - the route table of huellad.
 *
 * Contract: one entry per endpoint; the daemon does authentication,
 * policy, audit, body limits and metrics for every entry from these
 * fields alone.  An entry with an operation touches personal data.
 * The OpenAPI document (data/openapi.json) lists the same routes; the
 * server test checks real responses against it.
 */
#include "server.h"

const server_route server_routes[] = {
    {"GET", "/healthz", "healthz", NULL, BODY_NONE, handle_healthz},
    {"GET", "/metrics", "metrics", NULL, BODY_NONE, handle_metrics},
    {"GET", "/v1/openapi.json", "openapi", NULL, BODY_NONE, handle_openapi},
    {"GET", "/v1/persons/{id}", "person.get", "person.read", BODY_NONE, handle_person_get},
    {"GET", "/v1/persons/{id}/export", "person.export", "person.export", BODY_NONE,
     handle_person_export},
    {"PATCH", "/v1/persons/{id}", "person.patch", "person.rectify", BODY_JSON_REQUIRED,
     handle_person_patch},
    {"DELETE", "/v1/persons/{id}", "person.delete", "person.erase", BODY_JSON_OPTIONAL,
     handle_person_delete},
};

const size_t server_n_routes = sizeof(server_routes) / sizeof(server_routes[0]);
