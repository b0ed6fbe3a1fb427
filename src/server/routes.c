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
    {"POST", "/v1/encounters", "encounter.post", "encounter.enrol", BODY_ANY,
     handle_encounter_post},
    {"POST", "/v1/identify", "identify", "identify", BODY_JSON_REQUIRED, handle_identify},
    {"POST", "/v1/verify", "verify", "verify", BODY_JSON_REQUIRED, handle_verify},
    {"POST", "/v1/screen", "screen", "screen", BODY_JSON_REQUIRED, handle_screen},
    {"GET", "/v1/cases", "case.list", "case.read", BODY_NONE, handle_cases_list},
    {"GET", "/v1/cases/{id}", "case.get", "case.read", BODY_NONE, handle_case_get},
    {"POST", "/v1/cases/{id}/decisions", "case.decide", "case.decide", BODY_JSON_REQUIRED,
     handle_case_decide},
    {"POST", "/v1/watchlists/entries", "watchlist.create", "watchlist.manage", BODY_JSON_REQUIRED,
     handle_wl_create},
    {"GET", "/v1/watchlists/entries", "watchlist.list", "watchlist.manage", BODY_NONE,
     handle_wl_list},
    {"GET", "/v1/watchlists/entries/{id}", "watchlist.get", "watchlist.manage", BODY_NONE,
     handle_wl_get},
    {"PATCH", "/v1/watchlists/entries/{id}", "watchlist.update", "watchlist.manage",
     BODY_JSON_REQUIRED, handle_wl_patch},
    {"POST", "/v1/watchlists/import", "watchlist.import", "watchlist.manage", BODY_ANY,
     handle_wl_import},
    {"POST", "/v1/watchlists/expire", "watchlist.expire", "watchlist.manage", BODY_JSON_OPTIONAL,
     handle_wl_expire},
    {"GET", "/v1/jobs/{id}", "job.get", "watchlist.manage", BODY_NONE, handle_job_get},
    {"GET", "/v1/events", "events", "case.read", BODY_NONE, handle_events},
};

const size_t server_n_routes = sizeof(server_routes) / sizeof(server_routes[0]);
