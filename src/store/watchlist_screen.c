/*
 * watchlist_screen.c - screening a person against the watchlist.
 *
 * Contract: huella_watchlist_screen returns the entries, not expired on
 * the query's date, whose combined score reaches the query's minimum,
 * ranked, each with the explanation of its name comparison and the
 * evidence of date of birth, nationality, sex and document number.  A hit
 * is a candidate for a person to review, never a decision.
 *
 * Method (docs/watchlists.md has the measurements):
 *  1. Candidate index, built in memory from the stored normalised names on
 *     the first screening after a change (blocking, as in record linkage:
 *     Christen 2012, "Data Matching", ch. 4).  Every word token of every
 *     listed name is indexed under its phonetic key, its consonant
 *     skeleton (huella_names_skeleton: how names written in Arabic and
 *     Hebrew meet their Latin spellings; filed apart for abjad and other
 *     scripts, since compare.c reads skeletons only when one side is
 *     abjad), its romanisation key (huella_names_lax_key: Korean and
 *     Chinese systems), its coarse consonant key (huella_names_abjad_key,
 *     filed apart for abjad and other scripts: how a Latin spelling meets
 *     romanised Arabic), its given-name equivalence group, and the first and last
 *     three characters of its phonetic key (weak keys: edit variants
 *     change one end, rarely both); each pair of adjacent tokens is also
 *     indexed as one token (Abdul Rahman ~ Abdulrahman).  Keys are 32-bit
 *     hashes: a collision adds a candidate, never loses one.  Names alike
 *     after normalisation share one text.
 *  2. A listed name is a candidate when its keys meet at least half of
 *     the shorter name's tokens (weak keys count half, initials are
 *     assumed to match; weak keys filed under more than WEAK_MAX_NAMES
 *     names are not read).  Candidates are ranked by an estimate of the
 *     name score (tokens met over the shorter name's count plus 0.15 per
 *     extra token) times the idf-weighted share of the query met (Sparck
 *     Jones 1972), and compared best first with the full comparison of
 *     huella/names.h on pre-normalised tokens, each distinct text once,
 *     until MAX_CANDIDATES names or PAIR_BUDGET token pairs.
 *  3. Evidence: the date of birth (exact, day and month swapped,
 *     compatible partial dates, a year one apart, conflict), nationality
 *     and sex each add to or take from the name score; they are never
 *     filters.  A listed document number equal to the query's (same
 *     issuing state, or one side unknown) makes a hit whatever the names.
 * Recall of step 2 against comparing every name is measured in
 * tests/test_screen.c and bench/bench_screen.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "watchlist_internal.h"

#include "names/names_internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CANDIDATES 2000  /* names given the full comparison per query */
#define MIN_SHARE      0.5   /* of the shorter name's tokens met by the index */
#define PAIR_BUDGET    24000 /* token pairs compared per query */
#define DOC_SCORE      1.0

/* ---- Dates of birth as evidence ----------------------------------------- */

#define DATE_EXACT     0.10
#define DATE_SWAPPED   0.06
#define DATE_COMPAT_YM 0.04
#define DATE_COMPAT_Y  0.02
#define DATE_NEAR      0.0
#define DATE_CONFLICT  (-0.15)

const char *huella_date_evidence_name(huella_date_evidence e)
{
    switch (e) {
    case HUELLA_DATE_UNKNOWN:
        return "unknown";
    case HUELLA_DATE_EXACT:
        return "exact";
    case HUELLA_DATE_SWAPPED:
        return "day_month_swapped";
    case HUELLA_DATE_COMPATIBLE:
        return "compatible";
    case HUELLA_DATE_NEAR:
        return "year_one_apart";
    case HUELLA_DATE_CONFLICT:
        return "conflict";
    }
    return "unknown";
}

huella_date_evidence huella_partial_date_compare(const huella_partial_date *a,
                                                 const huella_partial_date *b, double *adjustment)
{
    huella_date_evidence e;
    double adj;
    bool full = a->day != 0 && b->day != 0;
    if (a->year == 0 || b->year == 0) {
        e = HUELLA_DATE_UNKNOWN;
        adj = 0;
    } else if (a->year == b->year && a->month == b->month && a->day == b->day && full) {
        e = HUELLA_DATE_EXACT;
        adj = DATE_EXACT;
    } else if (full && a->year == b->year && a->day == b->month && a->month == b->day) {
        /* 03/04 read as 4 March or 3 April: the day and month written in
         * the other order (the US and most other countries disagree). */
        e = HUELLA_DATE_SWAPPED;
        adj = DATE_SWAPPED;
    } else if (full && abs(a->year - b->year) == 1 && a->month == b->month && a->day == b->day) {
        e = HUELLA_DATE_NEAR;
        adj = DATE_NEAR;
    } else if (a->year == b->year && (a->month == 0 || b->month == 0 || a->month == b->month) &&
               (a->day == 0 || b->day == 0 || a->day == b->day)) {
        /* Partial dates that agree on every part both know. */
        e = HUELLA_DATE_COMPATIBLE;
        adj = a->month != 0 && b->month != 0 ? DATE_COMPAT_YM : DATE_COMPAT_Y;
    } else {
        e = HUELLA_DATE_CONFLICT;
        adj = DATE_CONFLICT;
    }
    if (adjustment != NULL)
        *adjustment = adj;
    return e;
}

/* ---- Normalised names as stored -------------------------------------------- */

static const char role_chars[] = "wiptcs"; /* indexed by huella_name_role */

bool wl_norm_encode(const huella_name *nm, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s", nm->script[0] != '\0' ? nm->script : "Unknown");
    if (n < 0 || (size_t)n >= size)
        return false;
    size_t len = (size_t)n;
    for (size_t i = 0; i < nm->n_tokens; i++) {
        const huella_name_token *t = &nm->tokens[i];
        n = snprintf(buf + len, size - len, " %c%c%s", role_chars[t->role],
                     t->hyphenated ? '-' : ':', t->text);
        if (n < 0 || (size_t)n >= size - len)
            return false;
        len += (size_t)n;
    }
    return true;
}

/* Fill only what the comparison reads: script, tokens (text, key, role,
 * hyphen); the original and the Latin form are left empty. */
static bool decode_into(const char *text, huella_name *out)
{
    out->original[0] = '\0';
    out->latin[0] = '\0';
    out->n_tokens = 0;
    out->truncated = false;
    size_t l = strcspn(text, " ");
    if (l == 0 || l >= sizeof(out->script))
        return false;
    memcpy(out->script, text, l);
    out->script[l] = '\0';
    const char *p = text + l;
    while (*p == ' ') {
        p++;
        size_t tl = strcspn(p, " ");
        if (tl < 3 || out->n_tokens == HUELLA_NAMES_MAX_TOKENS || tl - 2 >= HUELLA_NAMES_MAX_TOKEN)
            return false;
        const char *r = strchr(role_chars, p[0]);
        if (r == NULL || (p[1] != ':' && p[1] != '-'))
            return false;
        huella_name_token *t = &out->tokens[out->n_tokens++];
        t->role = (huella_name_role)(r - role_chars);
        t->hyphenated = p[1] == '-';
        memcpy(t->text, p + 2, tl - 2);
        t->text[tl - 2] = '\0';
        huella_names_phonetic_key(t->text, t->key, sizeof(t->key));
        p += tl;
    }
    return *p == '\0';
}

bool wl_norm_decode(const char *text, huella_name *out)
{
    return decode_into(text, out);
}

/* ---- The candidate index ------------------------------------------------------ */

typedef struct ix_entry {
    int64_t id;
    long expiry; /* days since 1970 */
    huella_partial_date dob;
    char nat[16]; /* "ABC|DEF" */
    char sex;
} ix_entry;

typedef struct ix_name {
    uint32_t entry; /* index in entries */
    uint8_t ord;
    uint8_t words;    /* alignable tokens */
    uint8_t initials; /* of which initials */
    uint8_t forms;    /* NAME_ADDRESS, and the count of devotional Muhammads << 1 */
    uint32_t off;     /* in the arena: the stored normalised text */
} ix_name;

#define NAME_ADDRESS 1u /* a title and one name (huella_names_address_form) */

/* What the ranking needs to cost a name's left-over tokens as compare.c
 * does (names_internal.h): whether it is a form of address, and how many
 * of its words are a devotional Muhammad. */
static uint8_t name_forms(const huella_names *n, const huella_name *nm)
{
    unsigned muh = 0;
    for (size_t i = 0; i < nm->n_tokens; i++)
        muh += nm->tokens[i].role == HUELLA_NAME_WORD &&
               huella_names_devotional(n, nm->tokens[i].text);
    if (muh > 127)
        muh = 127;
    return (uint8_t)((muh << 1) | (huella_names_address_form(n, nm) ? NAME_ADDRESS : 0u));
}

typedef struct posting {
    uint32_t key, name;
} posting;

struct wl_index {
    ix_entry *entries;
    size_t n_entries;
    ix_name *names;
    size_t n_names;
    char *arena;
    size_t arena_len;
    uint32_t *keys;   /* distinct keys, ascending */
    uint32_t *starts; /* n_keys + 1 offsets into postings */
    uint32_t *postings;
    size_t n_keys;
    long active_day; /* the day for which active was counted */
    size_t active;
    /* Scratch for one query. */
    uint32_t *mask; /* per name: query tokens met */
    uint32_t *touched;
    size_t n_touched;
};

void wl_index_free(wl_index *ix)
{
    if (ix == NULL)
        return;
    free(ix->entries);
    free(ix->names);
    free(ix->arena);
    free(ix->keys);
    free(ix->starts);
    free(ix->postings);
    free(ix->mask);
    free(ix->touched);
    free(ix);
}

static uint32_t hash_key(char kind, const char *s)
{
    /* FNV-1a, 32 bits. */
    uint32_t h = 2166136261u;
    h = (h ^ (uint8_t)kind) * 16777619u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static bool alignable(const huella_name_token *t)
{
    return t->role == HUELLA_NAME_WORD || t->role == HUELLA_NAME_INITIAL;
}

/* The block keys of one word; weak[k] marks the keys made of one end of
 * the phonetic key.  Returns the count (at most KEYS_PER_WORD). */
static size_t word_keys(const huella_names *n, const char *text, const char *sk_kinds,
                        const char *ab_kinds, uint32_t *keys, bool *weak)
{
    char key[3 * HUELLA_NAMES_MAX_TOKEN], sk[3 * HUELLA_NAMES_MAX_TOKEN];
    size_t nk = 0;
    if (strlen(text) < 2)
        return 0;
    huella_names_phonetic_key(text, key, sizeof(key));
    size_t kl = strlen(key);
    weak[nk] = false;
    keys[nk++] = hash_key('P', key);
    huella_names_skeleton(text, sk, sizeof(sk));
    for (const char *kind = sk_kinds; strlen(sk) >= 2 && *kind; kind++) {
        weak[nk] = false;
        keys[nk++] = hash_key(*kind, sk);
    }
    char lax[3 * HUELLA_NAMES_MAX_TOKEN];
    huella_names_lax_key(text, lax, sizeof(lax));
    if (strlen(lax) >= 2) {
        weak[nk] = false;
        keys[nk++] = hash_key('X', lax);
    }
    /* The coarse consonants that a Latin spelling shares with romanised
     * Arabic script (compare.c abjad_fits), filed like the skeleton:
     * 'C' for names in Arabic or Hebrew script, 'D' for the others. */
    huella_names_abjad_key(text, lax, sizeof(lax));
    for (const char *kind = ab_kinds; lax[0] != '\0' && *kind; kind++) {
        weak[nk] = lax[1] == '\0'; /* one consonant (Ali, Aziz) singles out few */
        keys[nk++] = hash_key(*kind, lax);
    }
    /* Every group of equivalents the word belongs to (Ted: Edward's and
     * Theodore's). */
    long groups[HUELLA_NAMES_MAX_GROUPS];
    size_t ng = huella_names_equivalent_groups(n, text, groups, HUELLA_NAMES_MAX_GROUPS);
    for (size_t k = 0; k < ng; k++) {
        char gb[24];
        snprintf(gb, sizeof(gb), "%ld", groups[k]);
        weak[nk] = false;
        keys[nk++] = hash_key('G', gb);
    }
    if (kl >= 4) {
        char part[4];
        memcpy(part, key, 3);
        part[3] = '\0';
        weak[nk] = true;
        keys[nk++] = hash_key('A', part);
        memcpy(part, key + kl - 3, 3);
        weak[nk] = true;
        keys[nk++] = hash_key('Z', part);
    }
    return nk;
}

#define KEYS_PER_WORD (7 + HUELLA_NAMES_MAX_GROUPS)
/* Token bits: the low half for strong keys (phonetic key, skeleton,
 * equivalence group, joined pairs), the high half for the weak ones (an
 * end of the phonetic key). */
#define WEAK_SHIFT 16
/* A weak key filed under more names than this is skipped: the three
 * letters that begin or end many names (Muh-, -mad) single out no one,
 * and reading their lists was most of the cost of a query on a list of a
 * million names.  Variants of a common spelling meet it through the
 * strong keys. */
#define WEAK_MAX_NAMES 20000

/* Keys of a whole name with, for each key, the token bits it stands for
 * (a joined pair stands for both of its tokens).  Returns the count. */
static size_t name_keys(const huella_names *n, const huella_name *nm, bool query, uint32_t *keys,
                        uint32_t *bits, size_t max, size_t *words, size_t *initials)
{
    *initials = 0;
    /* compare.c reads a token by its consonant skeleton only when one of
     * the names is written in Arabic or Hebrew script.  Listed names are
     * filed under 'S' (abjad) or 'L' (other scripts); an abjad query looks
     * under both, any other query under 'S' only. */
    bool abjad = strcmp(nm->script, "Arabic") == 0 || strcmp(nm->script, "Hebrew") == 0;
    const char *sk_kinds = query ? (abjad ? "SL" : "S") : (abjad ? "S" : "L");
    const char *ab_kinds = query ? (abjad ? "D" : "C") : (abjad ? "C" : "D");
    size_t nk = 0, w = 0;
    size_t word_index[HUELLA_NAMES_MAX_TOKENS];
    for (size_t i = 0; i < nm->n_tokens; i++) {
        word_index[i] = w;
        if (!alignable(&nm->tokens[i]))
            continue;
        *initials += nm->tokens[i].role == HUELLA_NAME_INITIAL;
        if (nm->tokens[i].role == HUELLA_NAME_WORD && nk + KEYS_PER_WORD <= max) {
            uint32_t wk[KEYS_PER_WORD];
            bool weak[KEYS_PER_WORD];
            size_t n_wk = word_keys(n, nm->tokens[i].text, sk_kinds, ab_kinds, wk, weak);
            for (size_t k = 0; k < n_wk; k++) {
                keys[nk] = wk[k];
                bits[nk++] = weak[k] ? 1u << (w + WEAK_SHIFT) : 1u << w;
            }
        }
        w++;
    }
    /* Adjacent words (skipping one particle between them) as one. */
    for (size_t i = 0; i + 1 < nm->n_tokens; i++) {
        if (nm->tokens[i].role != HUELLA_NAME_WORD)
            continue;
        size_t j = i + 1;
        char joined[3 * HUELLA_NAMES_MAX_TOKEN];
        snprintf(joined, sizeof(joined), "%s", nm->tokens[i].text);
        if (nm->tokens[j].role == HUELLA_NAME_PARTICLE && j + 1 < nm->n_tokens) {
            size_t len = strlen(joined);
            snprintf(joined + len, sizeof(joined) - len, "%s", nm->tokens[j].text);
            j++;
        }
        if (nm->tokens[j].role != HUELLA_NAME_WORD || nk + 5 > max)
            continue;
        size_t len = strlen(joined);
        snprintf(joined + len, sizeof(joined) - len, "%s", nm->tokens[j].text);
        char key[3 * HUELLA_NAMES_MAX_TOKEN];
        uint32_t both = (1u << word_index[i]) | (1u << word_index[j]);
        huella_names_phonetic_key(joined, key, sizeof(key));
        keys[nk] = hash_key('P', key);
        bits[nk++] = both;
        huella_names_skeleton(joined, key, sizeof(key));
        for (const char *kind = sk_kinds; strlen(key) >= 2 && *kind; kind++) {
            keys[nk] = hash_key(*kind, key);
            bits[nk++] = both;
        }
        huella_names_lax_key(joined, key, sizeof(key));
        keys[nk] = hash_key('X', key);
        bits[nk++] = both;
        huella_names_abjad_key(joined, key, sizeof(key));
        if (key[0] != '\0') {
            keys[nk] = hash_key(ab_kinds[0], key);
            bits[nk++] = both;
        }
    }
    *words = w;
    return nk;
}

static int posting_cmp(const void *a, const void *b)
{
    const posting *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->name < y->name ? -1 : x->name > y->name;
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t cap2 = *cap ? *cap : 1024, bytes;
    while (cap2 < need)
        cap2 *= 2;
    if (!huella_size_mul(cap2, elem, &bytes))
        return false;
    void *t = realloc(*p, bytes);
    if (t == NULL)
        return false;
    *p = t;
    *cap = cap2;
    return true;
}

/* Names written alike after normalisation (common names, an alias equal
 * to another entry's name) point at one text, so that screening compares
 * each text once.  The duplicates stay in the arena. */
static bool intern_names(wl_index *ix)
{
    size_t slots = 1;
    while (slots < 2 * ix->n_names + 2)
        slots *= 2;
    uint32_t *table = malloc(slots * sizeof(uint32_t));
    if (table == NULL)
        return false;
    for (size_t i = 0; i < slots; i++)
        table[i] = UINT32_MAX;
    for (size_t i = 0; i < ix->n_names; i++) {
        const char *text = ix->arena + ix->names[i].off;
        size_t slot = hash_key('N', text) & (slots - 1);
        while (table[slot] != UINT32_MAX && strcmp(ix->arena + table[slot], text) != 0)
            slot = (slot + 1) & (slots - 1);
        if (table[slot] == UINT32_MAX)
            table[slot] = ix->names[i].off;
        else
            ix->names[i].off = table[slot];
    }
    free(table);
    return true;
}

static huella_status index_build(huella_watchlist *wl, wl_index **out, huella_error *err)
{
    *out = NULL;
    wl_index *ix = calloc(1, sizeof(*ix));
    if (ix != NULL)
        ix->active_day = LONG_MIN;
    huella_name *nm = malloc(sizeof(*nm));
    posting *post = NULL;
    size_t n_post = 0, cap_post = 0, cap_e = 0, cap_n = 0, cap_a = 0;
    sqlite3_stmt *s = NULL;
    huella_status st = HUELLA_OK;
    if (ix == NULL || nm == NULL) {
        st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory building the index");
        goto fail;
    }
    if (sqlite3_prepare_v2(wl->db,
                           "SELECT e.id, e.expiry_date, e.birth_date, e.nationality, e.sex,"
                           " n.ord, n.norm FROM entries e LEFT JOIN names n ON n.entry_id = e.id"
                           " ORDER BY e.id, n.ord",
                           -1, &s, NULL) != SQLITE_OK) {
        st = huella_error_set(err, HUELLA_E_IO, "%s/watchlist.db: reading names: %s", wl->dir,
                              sqlite3_errmsg(wl->db));
        goto fail;
    }
    int rc;
    int64_t last_id = INT64_MIN;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        if (id != last_id) {
            if (!grow((void **)&ix->entries, &cap_e, ix->n_entries + 1, sizeof(ix_entry)))
                goto nomem;
            ix_entry *e = &ix->entries[ix->n_entries++];
            memset(e, 0, sizeof(*e));
            e->id = id;
            huella_partial_date d;
            const unsigned char *v = sqlite3_column_text(s, 1);
            e->expiry = v != NULL &&
                                huella_partial_date_parse((const char *)v, &d, NULL) == HUELLA_OK &&
                                d.day != 0
                            ? wl_days(&d)
                            : -1000000; /* unreadable: treated as expired */
            v = sqlite3_column_text(s, 2);
            if (v != NULL)
                huella_partial_date_parse((const char *)v, &e->dob, NULL);
            v = sqlite3_column_text(s, 3);
            snprintf(e->nat, sizeof(e->nat), "%s", v != NULL ? (const char *)v : "");
            v = sqlite3_column_text(s, 4);
            e->sex = v != NULL ? (char)v[0] : 0;
            last_id = id;
        }
        const unsigned char *norm = sqlite3_column_text(s, 6);
        if (norm == NULL)
            continue; /* a document-only entry */
        if (!decode_into((const char *)norm, nm))
            continue; /* never written by this code; cannot match */
        size_t len = strlen((const char *)norm) + 1;
        if (ix->n_names >= UINT32_MAX - 1 || ix->arena_len + len >= UINT32_MAX) {
            st = huella_error_set(err, HUELLA_E_UNSUPPORTED, "watchlist too large to index");
            goto fail;
        }
        if (!grow((void **)&ix->names, &cap_n, ix->n_names + 1, sizeof(ix_name)) ||
            !grow((void **)&ix->arena, &cap_a, ix->arena_len + len, 1))
            goto nomem;
        uint32_t keys[HUELLA_NAMES_MAX_TOKENS * (KEYS_PER_WORD + 5)];
        uint32_t bits[HUELLA_NAMES_MAX_TOKENS * (KEYS_PER_WORD + 5)];
        size_t words = 0, initials = 0;
        size_t nk = name_keys(wl->names, nm, false, keys, bits, sizeof(keys) / sizeof(keys[0]),
                              &words, &initials);
        if (!grow((void **)&post, &cap_post, n_post + nk, sizeof(posting)))
            goto nomem;
        uint32_t name_id = (uint32_t)ix->n_names;
        for (size_t k = 0; k < nk; k++) {
            post[n_post].key = keys[k];
            post[n_post++].name = name_id;
        }
        ix_name *x = &ix->names[ix->n_names++];
        x->entry = (uint32_t)(ix->n_entries - 1);
        x->ord = (uint8_t)sqlite3_column_int(s, 5);
        x->words = (uint8_t)words;
        x->initials = (uint8_t)initials;
        x->forms = name_forms(wl->names, nm);
        x->off = (uint32_t)ix->arena_len;
        memcpy(ix->arena + ix->arena_len, norm, len);
        ix->arena_len += len;
    }
    if (rc != SQLITE_DONE) {
        st = huella_error_set(err, HUELLA_E_IO, "%s/watchlist.db: reading names: %s", wl->dir,
                              sqlite3_errmsg(wl->db));
        goto fail;
    }
    sqlite3_finalize(s);
    s = NULL;
    if (!intern_names(ix))
        goto nomem;
    qsort(post, n_post, sizeof(posting), posting_cmp);
    /* Compress: distinct keys, offsets, and name lists without repeats. */
    ix->keys = malloc((n_post + 1) * sizeof(uint32_t));
    ix->starts = malloc((n_post + 2) * sizeof(uint32_t));
    ix->postings = malloc((n_post + 1) * sizeof(uint32_t));
    ix->mask = calloc(ix->n_names + 1, sizeof(uint32_t));
    ix->touched = malloc((ix->n_names + 1) * sizeof(uint32_t));
    if (ix->keys == NULL || ix->starts == NULL || ix->postings == NULL || ix->mask == NULL ||
        ix->touched == NULL)
        goto nomem;
    size_t np = 0;
    for (size_t i = 0; i < n_post; i++) {
        if (i == 0 || post[i].key != post[i - 1].key) {
            ix->keys[ix->n_keys] = post[i].key;
            ix->starts[ix->n_keys++] = (uint32_t)np;
        } else if (post[i].name == post[i - 1].name) {
            continue;
        }
        ix->postings[np++] = post[i].name;
    }
    ix->starts[ix->n_keys] = (uint32_t)np;
    free(post);
    free(nm);
    *out = ix;
    return HUELLA_OK;
nomem:
    st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory building the watchlist index");
fail:
    sqlite3_finalize(s);
    free(post);
    free(nm);
    wl_index_free(ix);
    return st;
}

static const uint32_t *postings_of(const wl_index *ix, uint32_t key, size_t *n)
{
    size_t lo = 0, hi = ix->n_keys;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == ix->n_keys || ix->keys[lo] != key) {
        *n = 0;
        return NULL;
    }
    *n = ix->starts[lo + 1] - ix->starts[lo];
    return ix->postings + ix->starts[lo];
}

static int popcount32(uint32_t v)
{
    int c = 0;
    for (; v; v &= v - 1)
        c++;
    return c;
}

/* Candidates for one normalised query name, best first, at most max;
 * returns their count in cand[]. */
static size_t candidates(const huella_names *n, wl_index *ix, const huella_name *q, long day,
                         uint32_t *cand, size_t max)
{
    uint32_t keys[HUELLA_NAMES_MAX_TOKENS * (KEYS_PER_WORD + 5)];
    uint32_t bits[HUELLA_NAMES_MAX_TOKENS * (KEYS_PER_WORD + 5)];
    size_t words = 0, initials = 0;
    size_t nk =
        name_keys(n, q, true, keys, bits, sizeof(keys) / sizeof(keys[0]), &words, &initials);
    ix->n_touched = 0;
    /* How common each query word is: the fewest names under one of its
     * strong keys (its own phonetic key, as a rule). */
    size_t df[HUELLA_NAMES_MAX_TOKENS];
    for (size_t w = 0; w < HUELLA_NAMES_MAX_TOKENS; w++)
        df[w] = SIZE_MAX;
    for (size_t k = 0; k < nk; k++) {
        size_t np;
        const uint32_t *p = postings_of(ix, keys[k], &np);
        uint32_t strong = bits[k] & 0xffffu;
        if (strong == 0 && np > WEAK_MAX_NAMES)
            continue; /* the end of a common spelling: no help, much cost */
        if (strong != 0 && (strong & (strong - 1)) == 0) {
            size_t w = 0;
            while (!((strong >> w) & 1))
                w++;
            if (np < df[w])
                df[w] = np;
        }
        for (size_t i = 0; i < np; i++) {
            uint32_t id = p[i];
            if (ix->mask[id] == 0)
                ix->touched[ix->n_touched++] = id;
            ix->mask[id] |= bits[k];
        }
    }
    /* Inverse document frequency of each query word (Sparck Jones 1972);
     * initials, which have no keys, get the mean of the words'. */
    double idf[HUELLA_NAMES_MAX_TOKENS], idf_all = 0, idf_words = 0;
    size_t n_idf = 0;
    uint32_t initial_bits = 0;
    for (size_t w = 0; w < words && w < HUELLA_NAMES_MAX_TOKENS; w++) {
        idf[w] = df[w] == SIZE_MAX ? 0 : log(1.0 + (double)ix->n_names / (1.0 + (double)df[w]));
        if (df[w] != SIZE_MAX) {
            idf_words += idf[w];
            n_idf++;
        }
    }
    for (size_t w = 0, t = 0; t < q->n_tokens && w < HUELLA_NAMES_MAX_TOKENS; t++) {
        if (!alignable(&q->tokens[t]))
            continue;
        if (q->tokens[t].role == HUELLA_NAME_INITIAL || df[w] == SIZE_MAX) {
            idf[w] = n_idf > 0 ? idf_words / (double)n_idf : 1.0;
            initial_bits |= 1u << w;
        }
        idf_all += idf[w];
        w++;
    }
    if (idf_all <= 0)
        idf_all = 1;
    /* The query's forms, as compare.c costs them: a title and one name
     * (its full form's other names unsaid) and devotional Muhammads (left
     * out in everyday use). */
    bool q_address = huella_names_address_form(n, q);
    uint32_t q_muh = 0;
    for (size_t w = 0, t = 0; t < q->n_tokens && w < HUELLA_NAMES_MAX_TOKENS; t++) {
        if (!alignable(&q->tokens[t]))
            continue;
        if (q->tokens[t].role == HUELLA_NAME_WORD && huella_names_devotional(n, q->tokens[t].text))
            q_muh |= 1u << w;
        w++;
    }
    /* Rank by an estimate of the name score, in the shape of compare.c's
     * (the tokens met, a weak key counting half, over the shorter name's
     * tokens plus 0.15 for each token the longer one has more), times the
     * share of the query's information met (its words weighted by idf):
     * among names that meet as many tokens, those that meet the rare ones
     * first.  256 buckets, best first. */
    enum { BUCKETS = 256 };
    size_t count[BUCKETS] = {0};
    uint16_t *bucket_of = malloc((ix->n_touched + 1) * sizeof(uint16_t));
    size_t out = 0;
    if (bucket_of != NULL) {
        for (size_t i = 0; i < ix->n_touched; i++) {
            uint32_t id = ix->touched[i];
            size_t nw = ix->names[id].words;
            if (ix->entries[ix->names[id].entry].expiry < day) {
                bucket_of[i] = UINT16_MAX; /* expired entries never match */
                continue;
            }
            size_t shorter = nw < words ? nw : words;
            if (shorter == 0)
                shorter = 1;
            uint32_t m = ix->mask[id], strong = m & 0xffffu, weak = (m >> WEAK_SHIFT) & ~strong;
            double met = (double)popcount32(strong) + 0.5 * (double)popcount32(weak);
            /* Initials have no keys: count them as met (optimistic), the
             * query's and, against the query's words left, the listed
             * name's (J.-C. Juncker ~ Jean-Claude Juncker). */
            met += (double)initials;
            double left = (double)words - met;
            met += left < (double)ix->names[id].initials ? (left > 0 ? left : 0)
                                                         : (double)ix->names[id].initials;
            double share = met / (double)shorter;
            if (share < MIN_SHARE) {
                bucket_of[i] = UINT16_MAX;
                continue;
            }
            size_t gap = nw > words ? nw - words : words - nw;
            /* As in the comparison (names_internal.h): tokens the longer
             * name has more cost half when the shorter one is met whole;
             * the unsaid names of a form of address and a devotional
             * Muhammad left over cost less, and a query's words that are
             * such cost no share of its information. */
            bool whole = met >= (double)shorter;
            double per = whole ? HUELLA_NAMES_LEFT_AFTER : HUELLA_NAMES_LEFT_COST;
            double extra = per * (double)gap, info_all = idf_all;
            uint8_t forms = ix->names[id].forms;
            if (whole && shorter == 1 && gap > 0 &&
                (nw > words ? q_address : (forms & NAME_ADDRESS) != 0)) {
                extra = HUELLA_NAMES_LEFT_ADDRESS * (double)gap;
                if (words > nw)
                    info_all = -1; /* the query's other names are unsaid */
            } else if (whole && shorter >= 2 && gap > 0) {
                size_t devout = 0;
                uint32_t unmet_muh = q_muh & ~(strong | weak);
                if (words > nw) {
                    devout = (size_t)popcount32(unmet_muh);
                    for (size_t w = 0; w < words && w < HUELLA_NAMES_MAX_TOKENS; w++)
                        if ((unmet_muh >> w) & 1)
                            info_all -= idf[w];
                } else {
                    size_t lm = forms >> 1, qm = (size_t)popcount32(q_muh);
                    devout = lm > qm ? lm - qm : 0;
                }
                if (devout > gap)
                    devout = gap;
                extra -= (per - HUELLA_NAMES_LEFT_PATRO_AFTER) * (double)devout;
            }
            double est = met / ((double)shorter + extra);
            if (est > 1)
                est = 1;
            if (info_all > 0) {
                double info = 0;
                for (size_t w = 0; w < words && w < HUELLA_NAMES_MAX_TOKENS; w++)
                    if (((strong | initial_bits) >> w) & 1)
                        info += idf[w];
                    else if ((weak >> w) & 1)
                        info += 0.5 * idf[w];
                est *= info < info_all ? info / info_all : 1.0;
            }
            size_t b = (size_t)((1.0 - est) * (BUCKETS - 1) + 0.5);
            bucket_of[i] = (uint16_t)b;
            count[b]++;
        }
        /* Counting sort of the buckets that fit under max, best first;
         * the bucket that overflows is taken in part, in index order. */
        size_t start[BUCKETS], taken = 0;
        for (size_t b = 0; b < BUCKETS; b++) {
            start[b] = taken;
            taken += count[b];
        }
        for (size_t i = 0; i < ix->n_touched; i++) {
            size_t b = bucket_of[i];
            if (b < BUCKETS && start[b] < max)
                cand[start[b]++] = ix->touched[i];
        }
        out = taken < max ? taken : max;
        free(bucket_of);
    }
    for (size_t i = 0; i < ix->n_touched; i++)
        ix->mask[ix->touched[i]] = 0;
    ix->n_touched = 0;
    return out;
}

/* ---- Screening ------------------------------------------------------------------- */

void huella_screen_result_clear(huella_screen_result *r)
{
    if (r == NULL)
        return;
    free(r->hits);
    memset(r, 0, sizeof(*r));
}

/* A provisional hit: entry index, best name and its score. */
typedef struct prov {
    uint32_t entry;
    int ord; /* -1: no name compared */
    double name_score;
    double score;
    double raw; /* the score before it is held to [0, 1]: ranks ties at 1 */
    bool doc;
} prov;

static int prov_cmp(const void *a, const void *b)
{
    const prov *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->raw != y->raw)
        return x->raw > y->raw ? -1 : 1;
    return x->entry < y->entry ? -1 : x->entry > y->entry;
}

static bool has_nationality(const char *list, const char *code)
{
    for (const char *p = list; *p != '\0';) {
        size_t l = strcspn(p, "|");
        if (l == strlen(code) && strncmp(p, code, l) == 0)
            return true;
        p += l;
        if (*p == '|')
            p++;
    }
    return false;
}

typedef struct evidence {
    huella_date_evidence dob;
    double dob_adj;
    int nat, sex;
    double nat_adj, sex_adj;
} evidence;

static void weigh(const huella_screen_query *q, const ix_entry *e, evidence *ev)
{
    memset(ev, 0, sizeof(*ev));
    if (q->has_birth_date)
        ev->dob = huella_partial_date_compare(&q->birth_date, &e->dob, &ev->dob_adj);
    if (q->nationality != NULL && q->nationality[0] != '\0' && e->nat[0] != '\0') {
        ev->nat = has_nationality(e->nat, q->nationality) ? 1 : -1;
        ev->nat_adj =
            ev->nat > 0 ? HUELLA_SCREEN_NATIONALITY_MATCH : HUELLA_SCREEN_NATIONALITY_MISMATCH;
    }
    /* X (unspecified, ICAO Doc 9303) says nothing either way. */
    if ((q->sex == 'M' || q->sex == 'F') && (e->sex == 'M' || e->sex == 'F')) {
        ev->sex = q->sex == e->sex ? 1 : -1;
        ev->sex_adj = ev->sex > 0 ? HUELLA_SCREEN_SEX_MATCH : HUELLA_SCREEN_SEX_MISMATCH;
    }
}

static double combine(double name_score, const evidence *ev)
{
    double s = name_score + ev->dob_adj + ev->nat_adj + ev->sex_adj;
    return s < 0 ? 0 : s > 1 ? 1 : s;
}

/* Entries (indexes into ix->entries) whose documents match the query's. */
static huella_status document_matches(huella_watchlist *wl, const huella_screen_query *q,
                                      uint32_t *found, size_t max, size_t *n_found,
                                      huella_error *err)
{
    *n_found = 0;
    char key[HUELLA_WL_MAX_DOC_NUM];
    wl_document_key(q->document_number, key, sizeof(key));
    if (strlen(key) < 3)
        return HUELLA_OK;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(wl->db,
                           "SELECT entry_id, issuing_state FROM documents WHERE number_key = ?", -1,
                           &s, NULL) != SQLITE_OK)
        return huella_error_set(err, HUELLA_E_IO, "%s/watchlist.db: documents: %s", wl->dir,
                                sqlite3_errmsg(wl->db));
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(s) == SQLITE_ROW && *n_found < max) {
        int64_t id = sqlite3_column_int64(s, 0);
        const unsigned char *state = sqlite3_column_text(s, 1);
        if (q->issuing_state != NULL && q->issuing_state[0] != '\0' && state != NULL &&
            state[0] != '\0' && strcmp((const char *)state, q->issuing_state) != 0)
            continue; /* the same number in another country's series */
        /* Entries are in id order: find its index. */
        size_t lo = 0, hi = wl->index->n_entries;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (wl->index->entries[mid].id < id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < wl->index->n_entries && wl->index->entries[lo].id == id)
            found[(*n_found)++] = (uint32_t)lo;
    }
    sqlite3_finalize(s);
    return HUELLA_OK;
}

huella_status huella_watchlist_screen(huella_watchlist *wl, const huella_screen_query *q,
                                      huella_screen_result *out, huella_error *err)
{
    memset(out, 0, sizeof(*out));
    huella_partial_date today;
    huella_status st = wl_today(q->today, &today, err);
    if (st != HUELLA_OK)
        return st;
    long day = wl_days(&today);
    bool has_name = q->name != NULL && q->name[0] != '\0';
    bool has_doc = q->document_number != NULL && q->document_number[0] != '\0';
    if (!has_name && !has_doc)
        return huella_error_set(err, HUELLA_E_INPUT, "screening needs a name or a document number");
    if (wl->index == NULL) {
        st = index_build(wl, &wl->index, err);
        if (st != HUELLA_OK)
            return st;
    }
    wl_index *ix = wl->index;
    size_t top = q->top ? q->top : 10;
    double min_score = q->min_score > 0 ? q->min_score : HUELLA_NAMES_THRESHOLD;
    if (ix->active_day != day) {
        ix->active = 0;
        for (size_t i = 0; i < ix->n_entries; i++)
            ix->active += ix->entries[i].expiry >= day;
        ix->active_day = day;
    }
    out->active_entries = ix->active;

    huella_name_comparison *cmp = NULL;
    uint32_t *cand = NULL, *docs = NULL;
    prov *pv = NULL;
    struct memo {
        uint32_t off;
        double score;
    } *memo = NULL;
    size_t n_pv = 0, cap_pv = 0, n_cand = 0, n_docs = 0;
    cmp = malloc(sizeof(*cmp));
    docs = malloc(64 * sizeof(*docs));
    if (cmp == NULL || docs == NULL)
        goto nomem;
    if (has_name) {
        /* The query is normalised once, straight into the comparison,
         * and each listed name decoded into it: no copies per candidate. */
        st = huella_names_normalize(wl->names, q->name, &cmp->a, err);
        if (st != HUELLA_OK) {
            huella_error_prefix(err, "query name: ");
            goto done;
        }
        size_t max = q->full_scan ? ix->n_names : MAX_CANDIDATES;
        cand = malloc((max + 1) * sizeof(*cand));
        if (cand == NULL)
            goto nomem;
        if (q->full_scan) {
            for (size_t i = 0; i < ix->n_names; i++)
                cand[i] = (uint32_t)i;
            n_cand = ix->n_names;
        } else {
            n_cand = candidates(wl->names, ix, &cmp->a, day, cand, max);
        }
        out->candidates = n_cand;
        /* Candidates come best first.  Identical normalised names share
         * one text in the arena, so each text is compared once (memo);
         * the comparisons stop when their cost, counted in token pairs,
         * reaches PAIR_BUDGET (a full scan has no budget). */
        size_t slots = 1;
        while (slots < 2 * n_cand + 2)
            slots *= 2;
        memo = malloc(slots * sizeof(*memo));
        if (memo == NULL)
            goto nomem;
        for (size_t i = 0; i < slots; i++)
            memo[i].off = UINT32_MAX;
        size_t spent = 0, qwords = 0;
        for (size_t t = 0; t < cmp->a.n_tokens; t++)
            qwords += alignable(&cmp->a.tokens[t]);
        for (size_t i = 0; i < n_cand; i++) {
            const ix_name *nm = &ix->names[cand[i]];
            const ix_entry *e = &ix->entries[nm->entry];
            if (e->expiry < day)
                continue; /* expired entries never match */
            size_t slot = (nm->off * 2654435761u) & (slots - 1);
            while (memo[slot].off != UINT32_MAX && memo[slot].off != nm->off)
                slot = (slot + 1) & (slots - 1);
            double name_score;
            if (memo[slot].off == nm->off) {
                name_score = memo[slot].score;
            } else {
                if (!q->full_scan && spent >= PAIR_BUDGET)
                    continue;
                if (!decode_into(ix->arena + nm->off, &cmp->b))
                    continue;
                st = huella_names_compare_normalized(wl->names, &cmp->a, &cmp->b, cmp, err);
                if (st != HUELLA_OK)
                    goto done;
                out->names_compared++;
                spent += qwords * (nm->words > 0 ? nm->words : 1);
                name_score = cmp->score;
                memo[slot].off = nm->off;
                memo[slot].score = name_score;
            }
            evidence ev;
            weigh(q, e, &ev);
            double score = combine(name_score, &ev);
            double raw = name_score + ev.dob_adj + ev.nat_adj + ev.sex_adj;
            if (score < min_score)
                continue;
            /* Keep the best name of each entry. */
            size_t k = 0;
            while (k < n_pv && pv[k].entry != nm->entry)
                k++;
            if (k < n_pv) {
                if (score > pv[k].score || (score == pv[k].score && raw > pv[k].raw)) {
                    pv[k].score = score;
                    pv[k].raw = raw;
                    pv[k].name_score = name_score;
                    pv[k].ord = nm->ord;
                }
                continue;
            }
            if (!grow((void **)&pv, &cap_pv, n_pv + 1, sizeof(prov)))
                goto nomem;
            pv[n_pv++] = (prov){.entry = nm->entry,
                                .ord = nm->ord,
                                .name_score = name_score,
                                .score = score,
                                .raw = raw};
        }
    }
    if (has_doc) {
        st = document_matches(wl, q, docs, 64, &n_docs, err);
        if (st != HUELLA_OK)
            goto done;
        for (size_t i = 0; i < n_docs; i++) {
            if (ix->entries[docs[i]].expiry < day)
                continue;
            size_t k = 0;
            while (k < n_pv && pv[k].entry != docs[i])
                k++;
            if (k == n_pv) {
                if (!grow((void **)&pv, &cap_pv, n_pv + 1, sizeof(prov)))
                    goto nomem;
                pv[n_pv++] = (prov){.entry = docs[i], .ord = -1};
            }
            pv[k].doc = true;
            pv[k].score = DOC_SCORE;
            pv[k].raw = DOC_SCORE + 1.0; /* a document above any name */
        }
    }
    if (n_pv > 1) /* pv is NULL when nothing was found */
        qsort(pv, n_pv, sizeof(prov), prov_cmp);
    if (n_pv > top)
        n_pv = top;
    if (n_pv > 0) {
        out->hits = calloc(n_pv, sizeof(huella_screen_hit));
        if (out->hits == NULL)
            goto nomem;
    }
    for (size_t i = 0; i < n_pv; i++) {
        huella_screen_hit *h = &out->hits[i];
        const ix_entry *e = &ix->entries[pv[i].entry];
        st = huella_watchlist_get(wl, e->id, &h->entry, err);
        if (st != HUELLA_OK)
            goto done;
        out->n_hits = i + 1;
        evidence ev;
        weigh(q, e, &ev);
        h->birth_date = ev.dob;
        h->birth_date_adjustment = ev.dob_adj;
        h->nationality = ev.nat;
        h->nationality_adjustment = ev.nat_adj;
        h->sex = ev.sex;
        h->sex_adjustment = ev.sex_adj;
        h->name_index = SIZE_MAX;
        h->name_score = pv[i].name_score;
        h->score = pv[i].score;
        /* The explanation: compare again from the names as written, so
         * that it shows the originals. */
        int ord = pv[i].ord;
        if (ord < 0 && has_name && h->entry.n_names > 0) {
            /* A document hit: still say how far the names agree. */
            double best = -1;
            for (size_t k = 0; k < h->entry.n_names; k++)
                if (huella_names_compare(wl->names, q->name, h->entry.names[k], cmp, NULL) ==
                        HUELLA_OK &&
                    cmp->score > best) {
                    best = cmp->score;
                    ord = (int)k;
                }
            h->name_score = best > 0 ? best : 0;
        }
        if (ord >= 0 && (size_t)ord < h->entry.n_names && has_name) {
            st = huella_names_compare(wl->names, q->name, h->entry.names[ord], &h->comparison, err);
            if (st != HUELLA_OK)
                goto done;
            h->name_index = (size_t)ord;
        }
        if (pv[i].doc) {
            h->document_match = true;
            char key[HUELLA_WL_MAX_DOC_NUM], qk[HUELLA_WL_MAX_DOC_NUM];
            wl_document_key(q->document_number, qk, sizeof(qk));
            for (size_t k = 0; k < h->entry.n_documents; k++) {
                wl_document_key(h->entry.documents[k].number, key, sizeof(key));
                if (strcmp(key, qk) == 0) {
                    h->document_index = k;
                    break;
                }
            }
        }
    }
    st = HUELLA_OK;
    goto done;
nomem:
    st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory screening");
done:
    free(cmp);
    free(cand);
    free(docs);
    free(memo);
    free(pv);
    if (st != HUELLA_OK)
        huella_screen_result_clear(out);
    return st;
}
