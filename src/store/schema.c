/*
 * schema.c - the database schema of the store as an ordered list of
 * migrations.
 *
 * Contract: store_migrations[k - 1] takes a database from PRAGMA
 * user_version k - 1 to k; huella_store_open applies the pending ones in
 * order in one transaction and sets user_version.  Migrations are only
 * ever appended: a released one is never edited.
 *
 * Why the tables look this way (docs/store.md has the whole design):
 *   - images live in their own table so that the bulk template scan
 *     (sample_scan index, then small sample rows) never walks their
 *     overflow pages;
 *   - every sealed blob is bound by its associated data to (kind, person,
 *     row), so sample.person_id is kept beside encounter.person_id for the
 *     scan and checked to agree by huella db check;
 *   - AUTOINCREMENT everywhere: ids are never reused, also after erasure,
 *     so that history and tombstones never point at someone else.
 */
#include "store_internal.h"

const char *const store_migrations[] = {
    /* 1: persons, encounters, samples, images, link history. */
    "CREATE TABLE config(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE person(id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL,"
    " wrapped_key BLOB NOT NULL);"
    "CREATE TABLE encounter(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " person_id INTEGER NOT NULL REFERENCES person(id) ON DELETE CASCADE,"
    " captured TEXT NOT NULL, site TEXT NOT NULL, device TEXT NOT NULL,"
    " operator TEXT NOT NULL, purpose TEXT NOT NULL, legal_basis TEXT NOT NULL,"
    " juvenile INTEGER NOT NULL CHECK (juvenile IN (0, 1)), bio BLOB NOT NULL);"
    "CREATE INDEX encounter_person ON encounter(person_id);"
    "CREATE TABLE sample(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " encounter_id INTEGER NOT NULL REFERENCES encounter(id) ON DELETE CASCADE,"
    " person_id INTEGER NOT NULL REFERENCES person(id) ON DELETE CASCADE,"
    " modality INTEGER NOT NULL CHECK (modality BETWEEN 1 AND 4),"
    " position INTEGER NOT NULL, quality INTEGER, templates BLOB NOT NULL);"
    "CREATE INDEX sample_scan ON sample(modality, person_id, id);"
    "CREATE INDEX sample_encounter ON sample(encounter_id);"
    "CREATE TABLE image(sample_id INTEGER PRIMARY KEY REFERENCES sample(id) ON DELETE CASCADE,"
    " format TEXT NOT NULL, data BLOB NOT NULL);"
    "CREATE TABLE link_event(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " encounter_id INTEGER NOT NULL REFERENCES encounter(id) ON DELETE CASCADE,"
    " action TEXT NOT NULL CHECK (action IN ('enrol', 'link', 'unlink', 'relink')),"
    " from_person INTEGER, to_person INTEGER NOT NULL, who TEXT NOT NULL, at TEXT NOT NULL,"
    " why TEXT NOT NULL);"
    "CREATE INDEX link_event_encounter ON link_event(encounter_id);",

    /* 2: possible-duplicate cases and erasure tombstones. */
    "CREATE TABLE dup_case(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " encounter_id INTEGER REFERENCES encounter(id) ON DELETE SET NULL,"
    " encounter_erased INTEGER NOT NULL DEFAULT 0,"
    " status TEXT NOT NULL CHECK (status IN ('open', 'confirmed-same', 'confirmed-different')),"
    " opened_at TEXT NOT NULL, opened_by TEXT NOT NULL, decided_at TEXT, decided_by TEXT,"
    " decided_person INTEGER, note TEXT);"
    "CREATE TABLE case_candidate(case_id INTEGER NOT NULL REFERENCES dup_case(id) ON DELETE "
    "CASCADE,"
    " rank INTEGER NOT NULL, person_id INTEGER NOT NULL, evidence TEXT,"
    " erased INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (case_id, person_id));"
    "CREATE INDEX case_candidate_person ON case_candidate(person_id);"
    "CREATE TABLE erasure(person_id INTEGER PRIMARY KEY, at TEXT NOT NULL, who TEXT NOT NULL,"
    " reason TEXT NOT NULL);",

    /* 3: the agency that owns a person (access control, src/policy) and the
     * history of rectifications (old biographic document sealed under the
     * person's key, who, when, why). */
    "ALTER TABLE person ADD COLUMN agency TEXT NOT NULL DEFAULT 'default';"
    "CREATE TABLE bio_history(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " person_id INTEGER NOT NULL REFERENCES person(id) ON DELETE CASCADE,"
    " encounter_id INTEGER NOT NULL REFERENCES encounter(id) ON DELETE CASCADE,"
    " at TEXT NOT NULL, who TEXT NOT NULL, why TEXT NOT NULL, fields TEXT NOT NULL,"
    " old BLOB NOT NULL);"
    "CREATE INDEX bio_history_person ON bio_history(person_id);",

    /* 4: idempotency keys of huellad's POST /v1/encounters: the key and the
     * ids of the first answer, written in the enrolment's transaction. */
    ("CREATE TABLE idempotency(key TEXT PRIMARY KEY, encounter_id INTEGER NOT NULL,"
     " person_id INTEGER NOT NULL, outcome TEXT NOT NULL, case_id INTEGER, at TEXT NOT NULL);"),

    /* 5: the gallery form of each person (src/store/gallery_form.c): what
     * the in-memory gallery keeps, sealed in one blob per person, so that
     * loading needs no preparation.  A cache: the triggers drop a person's
     * form whenever one of their samples changes in any way; a missing or
     * stale form is rebuilt from the templates. */
    "CREATE TABLE gallery_form(person_id INTEGER PRIMARY KEY REFERENCES person(id)"
    " ON DELETE CASCADE, format INTEGER NOT NULL, form BLOB NOT NULL);"
    "CREATE TRIGGER gallery_form_sample_insert AFTER INSERT ON sample BEGIN"
    " DELETE FROM gallery_form WHERE person_id = NEW.person_id; END;"
    "CREATE TRIGGER gallery_form_sample_delete AFTER DELETE ON sample BEGIN"
    " DELETE FROM gallery_form WHERE person_id = OLD.person_id; END;"
    "CREATE TRIGGER gallery_form_sample_update AFTER UPDATE ON sample BEGIN"
    " DELETE FROM gallery_form WHERE person_id IN (OLD.person_id, NEW.person_id); END;",

    /* 6: the gallery snapshot (src/store/gallery_snapshot.c): a copy of
     * the sealed forms in a file of its own, read in long sequential runs
     * at load.  gallery_change logs every person whose form or existence
     * changed (triggers, whatever the code path), so that a load takes
     * from the snapshot only the persons unchanged since it was written;
     * gallery_snapshot names the one current snapshot, and `discards`
     * counts erasures, which remove the file: a snapshot written across
     * an erasure is not installed. */
    "CREATE TABLE gallery_change(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " person_id INTEGER NOT NULL);"
    "CREATE TABLE gallery_snapshot(id INTEGER PRIMARY KEY CHECK (id = 1), snap_id BLOB,"
    " seq INTEGER NOT NULL DEFAULT 0, discards INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO gallery_snapshot(id) VALUES (1);"
    "CREATE TRIGGER gallery_change_form_insert AFTER INSERT ON gallery_form BEGIN"
    " INSERT INTO gallery_change(person_id) VALUES (NEW.person_id); END;"
    "CREATE TRIGGER gallery_change_form_update AFTER UPDATE ON gallery_form BEGIN"
    " INSERT INTO gallery_change(person_id) VALUES (OLD.person_id);"
    " INSERT INTO gallery_change(person_id) VALUES (NEW.person_id); END;"
    "CREATE TRIGGER gallery_change_form_delete AFTER DELETE ON gallery_form BEGIN"
    " INSERT INTO gallery_change(person_id) VALUES (OLD.person_id); END;"
    "CREATE TRIGGER gallery_change_person_insert AFTER INSERT ON person BEGIN"
    " INSERT INTO gallery_change(person_id) VALUES (NEW.id); END;"
    "CREATE TRIGGER gallery_change_person_delete AFTER DELETE ON person BEGIN"
    " INSERT INTO gallery_change(person_id) VALUES (OLD.id); END;",
};

const int store_n_migrations = (int)(sizeof(store_migrations) / sizeof(store_migrations[0]));
