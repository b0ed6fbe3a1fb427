/*
 * handlers.c - the endpoints of huellad.  Each runs after the pipeline in
 * server.c has authenticated the caller and the policy has allowed the
 * operation for the declared purpose and legal basis, with a store handle
 * of its own (c->slot); it fills c->status and c->json (or c->raw).
 *
 * People decide: none of these changes what is known about a person on a
 * match; rectification and erasure are explicit, reasoned requests of a
 * named data-protection officer, recorded in the store and the audit log.
 */
#define _POSIX_C_SOURCE 200809L
#include "server.h"

#include <stdlib.h>
#include <string.h>

void handle_healthz(server_call *c)
{
    c->json =
        json_pack("{s:s, s:s, s:I}", "status", "ok", "version", HUELLA_VERSION,
                  "audit_chain_length", (json_int_t)huella_audit_length(server_audit(c->srv)));
}

void handle_metrics(server_call *c)
{
    c->raw = server_metrics_text(c->srv);
    c->ctype = "text/plain; version=0.0.4; charset=utf-8";
    if (c->raw == NULL)
        server_error(c, 500, "internal", "out of memory");
}

void handle_openapi(server_call *c)
{
    size_t len;
    const char *doc = server_openapi(c->srv, &len);
    c->raw = strdup(doc);
    c->ctype = "application/json";
    if (c->raw == NULL)
        server_error(c, 500, "internal", "out of memory");
}

/* The person's record as JSON with its owning agency, or an error set. */
static json_t *person_doc(server_call *c, bool images)
{
    char *text = NULL;
    huella_error err;
    huella_status st = huella_store_person_json(c->slot->store, c->req->id, images, &text, &err);
    if (st == HUELLA_E_NOTFOUND) {
        server_error(c, 404, "not-found", "no person %lld", (long long)c->req->id);
        return NULL;
    }
    json_t *o = st == HUELLA_OK ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (o == NULL) {
        server_error(c, 500, "internal", "the record could not be read");
        return NULL;
    }
    char agency[64];
    if (huella_store_person_agency(c->slot->store, c->req->id, agency, NULL) == HUELLA_OK)
        json_object_set_new(o, "agency", json_string(agency));
    return o;
}

void handle_person_get(server_call *c)
{
    json_t *o = person_doc(c, false);
    if (o != NULL)
        c->json = o;
}

void handle_person_export(server_call *c)
{
    json_t *person = person_doc(c, true);
    if (person == NULL)
        return;
    huella_error err;
    char *hist = NULL, *audit = NULL;
    json_t *history = NULL, *trail = NULL;
    if (huella_store_person_history(c->slot->store, c->req->id, &hist, &err) == HUELLA_OK)
        history = json_loads(hist, 0, NULL);
    free(hist);
    huella_audit_filter f = {.person = c->req->id};
    if (huella_audit_query(server_db_dir(c->srv), &f, &audit, &err) == HUELLA_OK)
        trail = json_loads(audit, 0, NULL);
    free(audit);
    if (history == NULL || trail == NULL) {
        json_decref(person);
        json_decref(history);
        json_decref(trail);
        server_error(c, 500, "internal", "the history or the audit trail could not be read");
        return;
    }
    /* Provenance: where each datum came from, in one list. */
    json_t *prov = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(person, "encounters"), i, e)
    {
        json_t *p = json_object();
        static const char *const keys[] = {"encounter_id", "captured", "site",        "device",
                                           "operator",     "purpose",  "legal_basis", "links"};
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            json_t *v = json_object_get(e, keys[k]);
            if (v != NULL)
                json_object_set(p, keys[k], v);
        }
        json_array_append_new(prov, p);
    }
    char now[32];
    huella_utc_now(now);
    c->json = json_pack("{s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:s}", "kind",
                        "subject-access-export", "generated_at", now, "generated_by", c->who->user,
                        "person_id", (json_int_t)c->req->id, "person", person, "provenance", prov,
                        "rectifications", history, "audit", trail, "notice",
                        "Everything huella holds about this person: biographic data and images "
                        "of every encounter, where each came from, every rectification with the "
                        "old values, and every recorded access. Matches never change a record "
                        "by themselves; only decisions of named people do.");
    if (c->json == NULL)
        server_error(c, 500, "internal", "out of memory");
}

void handle_person_patch(server_call *c)
{
    json_t *bio = json_object_get(c->req->body, "biographic");
    if (c->req->reason[0] == '\0') {
        server_error(c, 400, "reason-missing",
                     "a rectification needs a \"reason\" (kept in the history)");
        return;
    }
    if (!json_is_object(bio)) {
        server_error(c, 400, "bad-request",
                     "want {\"reason\": \"...\", \"biographic\": {members to replace}}");
        return;
    }
    char *patch = json_dumps(bio, JSON_COMPACT);
    huella_error err;
    int64_t enc = 0;
    huella_status st = patch != NULL
                           ? huella_store_person_rectify(c->slot->store, c->req->id, patch,
                                                         c->who->user, c->req->reason, &enc, &err)
                           : huella_error_set(&err, HUELLA_E_NOMEM, "out of memory");
    free(patch);
    if (st == HUELLA_E_INPUT) {
        server_error(c, 422, "invalid-biographic-data", "%s", err.message);
        return;
    }
    if (st == HUELLA_E_NOTFOUND) {
        server_error(c, 409, "nothing-to-rectify", "the person has no encounter to rectify");
        return;
    }
    if (st != HUELLA_OK) {
        server_error(c, 500, "internal", "the rectification could not be stored");
        return;
    }
    json_t *fields = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(bio, k, v) json_array_append_new(fields, json_string(k));
    c->json = json_pack("{s:I, s:I, s:o, s:s}", "person_id", (json_int_t)c->req->id, "encounter_id",
                        (json_int_t)enc, "rectified", fields, "by", c->who->user);
    snprintf(c->detail, sizeof(c->detail), "rectified encounter %lld", (long long)enc);
}

void handle_person_delete(server_call *c)
{
    if (c->req->reason[0] == '\0') {
        server_error(c, 400, "reason-missing",
                     "an erasure needs a reason (body {\"reason\": ...} or Huella-Reason)");
        return;
    }
    huella_error err;
    huella_status st =
        huella_store_person_erase(c->slot->store, c->req->id, c->who->user, c->req->reason, &err);
    bool truncated = true;
    if (st == HUELLA_E_IO) {
        /* Erased, but the log could not be truncated yet (another reader). */
        char agency[64];
        if (huella_store_person_agency(c->slot->store, c->req->id, agency, NULL) ==
            HUELLA_E_NOTFOUND) {
            st = HUELLA_OK;
            truncated = false;
        }
    }
    if (st == HUELLA_E_NOTFOUND) {
        server_error(c, 404, "not-found", "no person %lld", (long long)c->req->id);
        return;
    }
    if (st != HUELLA_OK) {
        server_error(c, 500, "internal", "the erasure failed; nothing was erased");
        return;
    }
    /* The galleries follow the store: the person is searched no more. */
    huella_gallery *g = server_gallery_lock(c->srv, true);
    huella_gallery_remove_person(g, (uint64_t)c->req->id, NULL);
    server_gallery_unlock(c->srv);
    c->json = json_pack("{s:I, s:b, s:b, s:s}", "person_id", (json_int_t)c->req->id, "erased", 1,
                        "log_truncated", truncated, "by", c->who->user);
    snprintf(c->detail, sizeof(c->detail), "erased");
}
