/*
 * normalize.c - person names to comparable tokens, in any script.
 *
 * Contract: huella_names_normalize takes NUL-terminated UTF-8 (ill-formed
 * UTF-8 is HUELLA_E_INPUT, never repaired) and fills a huella_name: the
 * original, unchanged; the dominant script; a lower-case Latin-ASCII form;
 * and tokens with roles (word, initial, particle, title, conjunction,
 * suffix) and phonetic keys.  The comparator object owns the data tables
 * and the ICU transliterators it opens, one per script met, so an object
 * must not be shared between threads.
 *
 * Pipeline, each step for a reason:
 *  1. NFKC (Unicode UAX #15): compatibility forms (full-width letters,
 *     ligatures, presentation forms of Arabic) become the ordinary letters.
 *  2. Script detection with ICU uscript (UAX #24 Script property): the
 *     script with most letters, Common and Inherited not counted.
 *  3. Case folding (Unicode default full case folding), then
 *     transliteration to Latin with the ICU transform for that script -
 *     Russian-Latin/BGN (BGN/PCGN 1947) for Cyrillic, Greek-Latin/UNGEGN
 *     (ELOT 743) for Greek, Han-Latin (Hanyu Pinyin) for Han, Any-Latin
 *     otherwise - followed by Latin-ASCII.  ICAO Doc 9303 Part 3 §6 uses the
 *     same idea for the MRZ: national characters become A-Z.
 *  4. Canonical decomposition and removal of the marks that remain, then
 *     anything that is not a-z or 0-9 separates tokens, except apostrophes
 *     (O'Brien, Ma'mun), which vanish.
 *  5. Roles from data/names/particles.tsv: a particle only when another
 *     token follows (a "Le" or "Da" standing last is a surname), a
 *     conjunction only between two tokens, titles and suffixes anywhere;
 *     single letters are initials, also when a single letter of another
 *     alphabet romanises to two (Ж. -> "z", not "zh"); "Mc" is written
 *     "Mac" (Scottish and Irish patronymic prefixes are one prefix).
 *     Arabic ta marbuta is read as -h, the way Latin spellings end.
 */
#define _POSIX_C_SOURCE 200809L
#include "names_internal.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utrans.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HUELLA_NAMES_DATA_DIR
#define HUELLA_NAMES_DATA_DIR "data/names"
#endif

#define MAX_SCRIPTS 12
#define UBUF        (8 * HUELLA_NAMES_MAX_INPUT)

typedef struct entry {
    char text[HUELLA_NAMES_MAX_TOKEN];
    long value; /* role for particles, group for equivalents */
} entry;

typedef struct table {
    entry *e;
    size_t n, cap;
} table;

struct huella_names {
    table particles;
    table equivalents;
    struct {
        UScriptCode script;
        int variant; /* the language of a script written for several */
        UTransliterator *t;
    } trans[MAX_SCRIPTS];
    size_t n_trans;
};

const char *huella_name_role_name(huella_name_role role)
{
    switch (role) {
    case HUELLA_NAME_WORD:
        return "word";
    case HUELLA_NAME_INITIAL:
        return "initial";
    case HUELLA_NAME_PARTICLE:
        return "particle";
    case HUELLA_NAME_TITLE:
        return "title";
    case HUELLA_NAME_CONJUNCTION:
        return "conjunction";
    case HUELLA_NAME_SUFFIX:
        return "suffix";
    }
    return "unknown";
}

/* ---- Data tables -------------------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->text, ((const entry *)b)->text);
}

/* Sort order of a table: by text, then value (a word in several groups
 * of equivalents is filed once per group, first group first). */
static int entry_order(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    if (c != 0)
        return c;
    return x->value < y->value ? -1 : x->value > y->value;
}

static bool table_add(table *t, const char *text, long value)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        entry *e = realloc(t->e, cap * sizeof(*e));
        if (e == NULL)
            return false;
        t->e = e;
        t->cap = cap;
    }
    snprintf(t->e[t->n].text, sizeof(t->e[t->n].text), "%s", text);
    t->e[t->n].value = value;
    t->n++;
    return true;
}

static const entry *table_find(const table *t, const char *text)
{
    if (t->n == 0)
        return NULL;
    entry key;
    /* Called for every pair of tokens compared: no snprintf here. */
    size_t len = strlen(text);
    if (len >= sizeof(key.text))
        len = sizeof(key.text) - 1;
    memcpy(key.text, text, len);
    key.text[len] = '\0';
    const entry *e = bsearch(&key, t->e, t->n, sizeof(entry), entry_cmp);
    /* The first of equal texts (the lowest value). */
    while (e != NULL && e > t->e && strcmp(e[-1].text, e->text) == 0)
        e--;
    return e;
}

long huella_names_equivalent_group(const huella_names *n, const char *token)
{
    const entry *e = table_find(&n->equivalents, token);
    return e ? e->value : -1;
}

size_t huella_names_equivalent_groups(const huella_names *n, const char *token, long *groups,
                                      size_t max)
{
    const entry *first = table_find(&n->equivalents, token);
    const entry *end = n->equivalents.e + n->equivalents.n;
    size_t k = 0;
    for (const entry *e = first; e != NULL && e < end && k < max; e++) {
        if (strcmp(e->text, first->text) != 0)
            break;
        groups[k++] = e->value;
    }
    return k;
}

int huella_names_equivalent(const huella_names *n, const char *a, const char *b)
{
    long ga[HUELLA_NAMES_MAX_GROUPS], gb[HUELLA_NAMES_MAX_GROUPS];
    size_t na = huella_names_equivalent_groups(n, a, ga, HUELLA_NAMES_MAX_GROUPS);
    if (na == 0)
        return -1;
    size_t nb = huella_names_equivalent_groups(n, b, gb, HUELLA_NAMES_MAX_GROUPS);
    if (nb == 0)
        return -1;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (ga[i] == gb[j])
                return 1;
    return 0;
}

/* Table words are written as people write them (José, Мухаммад): fold them
 * the way names are folded, so that lookups compare like with like. */
static huella_status fold_word(huella_names *n, const char *word, char *out, size_t size,
                               huella_error *err)
{
    huella_name tmp;
    huella_status st = huella_names_normalize(n, word, &tmp, err);
    if (st != HUELLA_OK)
        return st;
    out[0] = '\0';
    for (size_t i = 0; i < tmp.n_tokens; i++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s", tmp.tokens[i].text);
    }
    return HUELLA_OK;
}

static huella_status load_table(huella_names *n, const char *dir, const char *file, bool groups,
                                huella_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return huella_error_set(err, HUELLA_E_IO, "%s: %s", path, strerror(errno));
    char line[4096];
    size_t lineno = 0;
    long group = 0;
    huella_status st = HUELLA_OK;
    while (st == HUELLA_OK && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *save = NULL;
        if (groups) {
            /* One group per line: variants separated by tabs. */
            for (char *w = strtok_r(line, "\t", &save); w != NULL && st == HUELLA_OK;
                 w = strtok_r(NULL, "\t", &save)) {
                char folded[HUELLA_NAMES_MAX_TOKEN] = "";
                st = fold_word(n, w, folded, sizeof(folded), err);
                /* A variant may be in several groups (Ted is Edward's and
                 * Theodore's), once in each. */
                bool seen = false;
                for (size_t k = 0; k < n->equivalents.n && !seen; k++)
                    seen = n->equivalents.e[k].value == group &&
                           strcmp(n->equivalents.e[k].text, folded) == 0;
                if (st == HUELLA_OK && folded[0] != '\0' && !seen &&
                    !table_add(&n->equivalents, folded, group))
                    st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory reading %s", path);
            }
            group++;
        } else {
            char *w = strtok_r(line, "\t", &save);
            char *kind = strtok_r(NULL, "\t", &save);
            long role;
            if (w == NULL || kind == NULL) {
                st = huella_error_set(err, HUELLA_E_INPUT, "%s line %zu: want WORD<TAB>KIND", path,
                                      lineno);
                break;
            }
            if (strcmp(kind, "particle") == 0)
                role = HUELLA_NAME_PARTICLE;
            else if (strcmp(kind, "title") == 0)
                role = HUELLA_NAME_TITLE;
            else if (strcmp(kind, "conjunction") == 0)
                role = HUELLA_NAME_CONJUNCTION;
            else if (strcmp(kind, "suffix") == 0)
                role = HUELLA_NAME_SUFFIX;
            else {
                st = huella_error_set(err, HUELLA_E_INPUT,
                                      "%s line %zu: kind '%s' is not particle, title, "
                                      "conjunction or suffix",
                                      path, lineno, kind);
                break;
            }
            char folded[HUELLA_NAMES_MAX_TOKEN] = "";
            st = fold_word(n, w, folded, sizeof(folded), err);
            if (st == HUELLA_OK && folded[0] != '\0' && !table_add(&n->particles, folded, role))
                st = huella_error_set(err, HUELLA_E_NOMEM, "out of memory reading %s", path);
        }
    }
    fclose(f);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "%s line %zu: ", path, lineno);
        return st;
    }
    table *t = groups ? &n->equivalents : &n->particles;
    qsort(t->e, t->n, sizeof(entry), entry_order);
    return HUELLA_OK;
}

huella_status huella_names_new(const char *data_dir, huella_names **out, huella_error *err)
{
    *out = NULL;
    if (data_dir == NULL) {
        const char *env = getenv("HUELLA_NAMES_DATA");
        data_dir = env != NULL && env[0] != '\0' ? env : HUELLA_NAMES_DATA_DIR;
    }
    huella_names *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    /* Particles first: equivalents are folded without roles mattering, but
     * particles must be folded before any role is assigned from them. */
    huella_status st = load_table(n, data_dir, "particles.tsv", false, err);
    if (st == HUELLA_OK)
        st = load_table(n, data_dir, "given-name-equivalents.tsv", true, err);
    if (st != HUELLA_OK) {
        huella_names_free(n);
        return st;
    }
    *out = n;
    return HUELLA_OK;
}

void huella_names_free(huella_names *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n_trans; i++)
        utrans_close(n->trans[i].t);
    free(n->particles.e);
    free(n->equivalents.e);
    free(n);
}

/* ---- Transliteration ---------------------------------------------------- */

/* Cyrillic is written for several languages, each with its BGN/PCGN
 * romanisation; a letter only one of them uses tells which (Serbian and
 * Macedonian ђ ћ џ љ њ ј ѓ ќ ѕ: Jovičić, not Yovichich; Ukrainian і ї є ґ:
 * Volodymyr, not Volodimir; Belarusian ў).  Russian otherwise. */
enum { CYR_RUSSIAN, CYR_SERBIAN, CYR_UKRAINIAN, CYR_BELARUSIAN };

static int cyrillic_language(const UChar *s, int32_t len)
{
    for (int32_t i = 0; i < len; i++) {
        UChar c = s[i];
        if (c == 0x0452 || c == 0x045B || c == 0x045F || c == 0x0459 || c == 0x045A ||
            c == 0x0458 || c == 0x0453 || c == 0x045C || c == 0x0455)
            return CYR_SERBIAN;
        if (c == 0x0457 || c == 0x0454 || c == 0x0491)
            return CYR_UKRAINIAN;
        if (c == 0x045E)
            return CYR_BELARUSIAN;
    }
    for (int32_t i = 0; i < len; i++)
        if (s[i] == 0x0456) /* і without ї, є, ґ: Ukrainian or Belarusian */
            return CYR_UKRAINIAN;
    return CYR_RUSSIAN;
}

static const char *transform_for(UScriptCode script, int variant)
{
    if (script == USCRIPT_CYRILLIC && variant == CYR_SERBIAN)
        return "Serbian-Latin/BGN; Any-Latin; Latin-ASCII";
    if (script == USCRIPT_CYRILLIC && variant == CYR_UKRAINIAN)
        return "Ukrainian-Latin/BGN; Any-Latin; Latin-ASCII";
    if (script == USCRIPT_CYRILLIC && variant == CYR_BELARUSIAN)
        return "Belarusian-Latin/BGN; Any-Latin; Latin-ASCII";
    /* The trailing Any-Latin catches letters of a second script in a mixed
     * name; Latin-ASCII then removes what diacritics the romanisation adds. */
    switch (script) {
    case USCRIPT_LATIN:
        return "Latin-ASCII";
    case USCRIPT_CYRILLIC:
        return "Russian-Latin/BGN; Any-Latin; Latin-ASCII";
    case USCRIPT_GREEK:
        return "Greek-Latin/UNGEGN; Any-Latin; Latin-ASCII";
    case USCRIPT_HAN:
        return "Han-Latin; Any-Latin; Latin-ASCII";
    default:
        return "Any-Latin; Latin-ASCII";
    }
}

static huella_status transliterator(huella_names *n, UScriptCode script, int variant,
                                    UTransliterator **out, huella_error *err)
{
    for (size_t i = 0; i < n->n_trans; i++)
        if (n->trans[i].script == script && n->trans[i].variant == variant) {
            *out = n->trans[i].t;
            return HUELLA_OK;
        }
    const char *id = transform_for(script, variant);
    UChar uid[96];
    u_uastrncpy(uid, id, 95);
    uid[95] = 0;
    UErrorCode uerr = U_ZERO_ERROR;
    UTransliterator *t = utrans_openU(uid, -1, UTRANS_FORWARD, NULL, 0, NULL, &uerr);
    if (U_FAILURE(uerr))
        return huella_error_set(err, HUELLA_E_INTERNAL, "ICU transform '%s': %s", id,
                                u_errorName(uerr));
    if (n->n_trans == MAX_SCRIPTS) {
        /* Rare: a caller comparing names in more scripts than the cache
         * holds.  Recycle the oldest slot. */
        utrans_close(n->trans[0].t);
        memmove(&n->trans[0], &n->trans[1], (MAX_SCRIPTS - 1) * sizeof(n->trans[0]));
        n->n_trans--;
    }
    n->trans[n->n_trans].script = script;
    n->trans[n->n_trans].variant = variant;
    n->trans[n->n_trans].t = t;
    n->n_trans++;
    *out = t;
    return HUELLA_OK;
}

static UScriptCode dominant_script(const UChar *s, int32_t len)
{
    UScriptCode best = USCRIPT_LATIN;
    struct {
        UScriptCode code;
        size_t count;
    } seen[16];
    size_t n_seen = 0, best_count = 0;
    for (int32_t i = 0; i < len;) {
        UChar32 c;
        U16_NEXT(s, i, len, c);
        UErrorCode uerr = U_ZERO_ERROR;
        UScriptCode sc = uscript_getScript(c, &uerr);
        if (U_FAILURE(uerr) || sc == USCRIPT_COMMON || sc == USCRIPT_INHERITED ||
            sc == USCRIPT_UNKNOWN)
            continue;
        size_t k = 0;
        while (k < n_seen && seen[k].code != sc)
            k++;
        if (k == n_seen) {
            if (n_seen == 16)
                continue;
            seen[n_seen].code = sc;
            seen[n_seen].count = 0;
            n_seen++;
        }
        if (++seen[k].count > best_count) {
            best_count = seen[k].count;
            best = sc;
        }
    }
    return best;
}

/* ---- Tokens ------------------------------------------------------------- */

static bool is_apostrophe(UChar32 c)
{
    /* Also the spacing modifier letters (U+02B0..U+02FF: the primes and
     * half rings of ayn and hamza, the stress marks ICU writes in some
     * romanisations) and the middle dot BGN/PCGN puts between letters
     * that would otherwise read as a digraph (r·e): none splits a name. */
    return c == '\'' || c == 0x2019 || c == 0x2018 || c == '`' || c == 0x00B4 || c == 0x00B7 ||
           (c >= 0x02B0 && c <= 0x02FF);
}

static bool is_hyphen(UChar32 c)
{
    return c == '-' || c == 0x2010 || c == 0x2011 || c == 0x2012 || c == 0x2013 || c == 0x2212;
}

static void add_token(huella_name *out, const char *text, size_t len, bool *full)
{
    if (len == 0)
        return;
    if (out->n_tokens == HUELLA_NAMES_MAX_TOKENS) {
        *full = true;
        return;
    }
    huella_name_token *t = &out->tokens[out->n_tokens++];
    if (len >= sizeof(t->text))
        len = sizeof(t->text) - 1;
    memcpy(t->text, text, len);
    t->text[len] = '\0';
    t->role = HUELLA_NAME_WORD;
    t->hyphenated = false;
}

static void assign_roles(const huella_names *n, huella_name *out)
{
    for (size_t i = 0; i < out->n_tokens; i++) {
        huella_name_token *t = &out->tokens[i];
        bool last = i + 1 == out->n_tokens;
        const entry *e = n != NULL ? table_find(&n->particles, t->text) : NULL;
        if (e != NULL) {
            huella_name_role r = (huella_name_role)e->value;
            /* A particle or conjunction alone at the end is a word ("Le",
             * "Da"); a title or suffix is one wherever it stands. */
            if ((r == HUELLA_NAME_PARTICLE && !last) ||
                (r == HUELLA_NAME_CONJUNCTION && i > 0 && !last) || r == HUELLA_NAME_TITLE ||
                r == HUELLA_NAME_SUFFIX) {
                t->role = r;
                continue;
            }
        }
        /* One vowel between two hyphens is a connector, not an initial:
         * the Persian ezafe and the Urdu article written -e-, -i-, -u-,
         * -a- (Noor-u-Zaman, Habib-e-Rabb). */
        if (strlen(t->text) == 1 && strchr("aeiou", t->text[0]) != NULL && i > 0 &&
            out->tokens[i - 1].hyphenated && t->hyphenated)
            t->role = HUELLA_NAME_PARTICLE;
        else if (strlen(t->text) == 1 && isalpha((unsigned char)t->text[0]))
            t->role = HUELLA_NAME_INITIAL;
        else if (strncmp(t->text, "mc", 2) == 0 && strlen(t->text) > 3 &&
                 strlen(t->text) + 2 < sizeof(t->text)) {
            char tmp[HUELLA_NAMES_MAX_TOKEN];
            snprintf(tmp, sizeof(tmp), "mac%s", t->text + 2);
            memcpy(t->text, tmp, sizeof(tmp));
        }
    }
    /* A name made only of titles and particles keeps them as words: the
     * caller gave nothing else to compare. */
    size_t words = 0;
    for (size_t i = 0; i < out->n_tokens; i++)
        words +=
            out->tokens[i].role == HUELLA_NAME_WORD || out->tokens[i].role == HUELLA_NAME_INITIAL;
    if (words == 0)
        for (size_t i = 0; i < out->n_tokens; i++)
            out->tokens[i].role = HUELLA_NAME_WORD;
    for (size_t i = 0; i < out->n_tokens; i++)
        huella_names_phonetic_key(out->tokens[i].text, out->tokens[i].key,
                                  sizeof(out->tokens[i].key));
}

static UChar fold_letter(UChar c)
{
    switch (c) {
    case 0x06BE: /* heh doachashmee */
    case 0x06C1: /* heh goal */
    case 0x06C3: /* teh marbuta goal */
        return 0x0647;
    case 0x04AF: /* ү */
    case 0x04B1: /* ұ */
        return 0x0443;
    case 0x04E9: /* ө */
        return 0x043E;
    case 0x04D9: /* ә */
        return 0x0430;
    case 0x0493: /* ғ */
        return 0x0433;
    case 0x049B: /* қ */
        return 0x043A;
    case 0x04A3: /* ң */
        return 0x043D;
    case 0x04BB: /* һ */
        return 0x0445;
    default:
        return c;
    }
}

static bool hangul_syllable(UChar c)
{
    return c >= 0xAC00 && c <= 0xD7A3;
}

/* A space between adjacent Hangul syllables; s holds len units and has
 * room for cap, tmp is scratch of cap units.  Returns the new length. */
static int32_t split_hangul(UChar *s, int32_t len, UChar *tmp, int32_t cap)
{
    int32_t o = 0;
    for (int32_t i = 0; i < len && o < cap; i++) {
        tmp[o++] = s[i];
        if (i + 1 < len && hangul_syllable(s[i]) && hangul_syllable(s[i + 1]) && o < cap)
            tmp[o++] = ' ';
    }
    memcpy(s, tmp, (size_t)o * sizeof(UChar));
    return o;
}

/* A digit inside a word of letters is a letter misread or typed for its
 * look-alike (OCR of documents reads O as 0, I as 1, S as 5, B as 8, as
 * the MRZ rules of ICAO Doc 9303 warn; ER1KSSON, Ig0r): read it as the
 * letter.  Tokens of digits alone are left as they are. */
static void read_digits_as_letters(char *t)
{
    bool letter = false, digit = false;
    for (const char *p = t; *p; p++) {
        letter |= *p >= 'a' && *p <= 'z';
        digit |= *p >= '0' && *p <= '9';
    }
    if (!letter || !digit)
        return;
    static const char look[] = "oizeasgtbg"; /* 0123456789 */
    for (char *p = t; *p; p++)
        if (*p >= '0' && *p <= '9')
            *p = look[*p - '0'];
}

/* Tokens of the text before transliteration, split the way the Latin form
 * will be (letters, digits and marks make tokens; apostrophes join), with
 * a flag for those of exactly one letter. */
static size_t count_source_tokens(const UChar *s, int32_t len, bool *single, size_t max)
{
    size_t count = 0, letters = 0;
    for (int32_t i = 0; i <= len;) {
        UChar32 c = 0;
        if (i < len)
            U16_NEXT(s, i, len, c);
        else
            i++;
        bool part = c != 0 && (u_isalnum(c) || u_getCombiningClass(c) != 0 ||
                               u_charType(c) == U_NON_SPACING_MARK || is_apostrophe(c));
        if (part) {
            if (u_isalnum(c))
                letters++;
            continue;
        }
        if (letters > 0) {
            if (count < max)
                single[count] = letters == 1;
            count++;
        }
        letters = 0;
    }
    return count;
}

huella_status huella_names_normalize(huella_names *n, const char *name, huella_name *out,
                                     huella_error *err)
{
    memset(out, 0, sizeof(*out));
    size_t in_len = strlen(name);
    if (in_len > HUELLA_NAMES_MAX_INPUT)
        return huella_error_set(err, HUELLA_E_INPUT, "name of %zu bytes is longer than %d", in_len,
                                HUELLA_NAMES_MAX_INPUT);
    memcpy(out->original, name, in_len + 1);

    UChar *a = malloc(2 * UBUF * sizeof(UChar));
    if (a == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    UChar *b = a + UBUF;
    huella_status st = HUELLA_OK;
    UErrorCode uerr = U_ZERO_ERROR;
    int32_t len = 0;
    u_strFromUTF8(a, UBUF, &len, name, (int32_t)in_len, &uerr);
    if (U_FAILURE(uerr)) {
        st = huella_error_set(err, HUELLA_E_INPUT, "name is not valid UTF-8 (%s)",
                              u_errorName(uerr));
        goto done;
    }
    const UNormalizer2 *nfkc = unorm2_getNFKCInstance(&uerr);
    const UNormalizer2 *nfd = unorm2_getNFDInstance(&uerr);
    if (U_FAILURE(uerr)) {
        st = huella_error_set(err, HUELLA_E_INTERNAL, "ICU normaliser: %s", u_errorName(uerr));
        goto done;
    }
    len = unorm2_normalize(nfkc, a, len, b, UBUF, &uerr);
    if (U_SUCCESS(uerr))
        len = u_strFoldCase(a, UBUF, b, len, U_FOLD_CASE_DEFAULT, &uerr);
    if (U_FAILURE(uerr)) {
        st = huella_error_set(err, HUELLA_E_INPUT, "name cannot be normalised (%s)",
                              u_errorName(uerr));
        goto done;
    }
    UScriptCode script = dominant_script(a, len);
    /* Ta marbuta is a feminine ending pronounced -a or -ah (Usama, Hamza);
     * ICU writes it "t", which no Latin spelling of the name has. */
    for (int32_t i = 0; i < len; i++)
        if (a[i] == 0x0629)
            a[i] = 0x0647;
    /* Letters of other languages written in these scripts that the ICU
     * transforms chosen below leave untouched, read as their nearest
     * letter: Urdu and Persian forms of heh (ہ ھ ۃ) as heh; Mongolian and
     * Kazakh Cyrillic ү ұ ө ә ғ қ ң һ as у у о а г к н х (so that
     * Хүрэлбаатар is Khurelbaatar, not "Kh r elbaatar"). */
    for (int32_t i = 0; i < len; i++)
        a[i] = fold_letter(a[i]);
    /* Hangul writes a name without spaces (류명철); its syllables are
     * the units romanised names are written in (Ryu Myong-chol, Ryu
     * Myong Chol), as Han characters are: one token per syllable. */
    if (script == USCRIPT_HANGUL)
        len = split_hangul(a, len, b, UBUF);
    snprintf(out->script, sizeof(out->script), "%s", uscript_getName(script));

    /* Single letters of an alphabet are initials whatever they become in
     * Latin (Ж. is "zh", not a name): remember them before transliterating. */
    bool single[HUELLA_NAMES_MAX_TOKENS + 1] = {false};
    size_t n_orig = count_source_tokens(a, len, single, HUELLA_NAMES_MAX_TOKENS + 1);

    UTransliterator *t = NULL;
    st = transliterator(n, script, script == USCRIPT_CYRILLIC ? cyrillic_language(a, len) : 0, &t,
                        err);
    if (st != HUELLA_OK)
        goto done;
    int32_t limit = len;
    utrans_transUChars(t, a, &len, UBUF, 0, &limit, &uerr);
    if (U_SUCCESS(uerr))
        len = u_strFoldCase(b, UBUF, a, len, U_FOLD_CASE_DEFAULT, &uerr);
    if (U_SUCCESS(uerr))
        len = unorm2_normalize(nfd, b, len, a, UBUF, &uerr);
    if (U_FAILURE(uerr)) {
        st = huella_error_set(err, HUELLA_E_INPUT, "name cannot be transliterated (%s)",
                              u_errorName(uerr));
        goto done;
    }

    /* Kana: a small vowel after a syllable replaces its vowel (ヴェ is
     * ve, as in Sven), which ICU writes after a tilde ("vu~e"). */
    if (script == USCRIPT_KATAKANA || script == USCRIPT_HIRAGANA) {
        int32_t w = 0;
        for (int32_t r = 0; r < len; r++) {
            if (a[r] == '~' && w > 0 && r + 1 < len && a[r + 1] != 0 && a[w - 1] != 0 &&
                u_strchr(u"aeiou", a[r + 1]) != NULL && u_strchr(u"aeiou", a[w - 1]) != NULL) {
                w--; /* the syllable's own vowel */
                continue;
            }
            a[w++] = a[r];
        }
        len = w;
    }

    /* ASCII form: letters and digits kept, marks dropped, apostrophes
     * joined, everything else a token boundary (hyphens remembered). */
    size_t o = 0, start = 0;
    bool full = false;
    char *latin = out->latin;
    const size_t cap = sizeof(out->latin) - 1;
    for (int32_t i = 0; i < len;) {
        UChar32 c;
        U16_NEXT(a, i, len, c);
        if (u_getCombiningClass(c) != 0 || u_charType(c) == U_NON_SPACING_MARK || is_apostrophe(c))
            continue;
        if (c < 128 && isalnum((int)c)) {
            if (o < cap)
                latin[o++] = (char)tolower((int)c);
            continue;
        }
        if (o > start) {
            size_t before = out->n_tokens;
            add_token(out, latin + start, o - start, &full);
            if (is_hyphen(c) && out->n_tokens > before)
                out->tokens[out->n_tokens - 1].hyphenated = true;
        }
        if (o < cap && o > 0 && latin[o - 1] != ' ')
            latin[o++] = is_hyphen(c) ? '-' : ' ';
        start = o;
    }
    add_token(out, latin + start, o - start, &full);
    while (o > 0 && (latin[o - 1] == ' ' || latin[o - 1] == '-'))
        o--;
    latin[o] = '\0';
    if (out->n_tokens > 0)
        out->tokens[out->n_tokens - 1].hyphenated = false;
    out->truncated = full;
    if (script != USCRIPT_LATIN && script != USCRIPT_HAN && script != USCRIPT_HANGUL &&
        script != USCRIPT_HIRAGANA && script != USCRIPT_KATAKANA && n_orig == out->n_tokens)
        for (size_t i = 0; i < out->n_tokens; i++)
            if (single[i])
                out->tokens[i].text[1] = '\0';
    if (out->n_tokens == 0) {
        /* The name itself is not quoted: error messages reach logs, and
         * names are personal data. */
        st = huella_error_set(err, HUELLA_E_INPUT,
                              "a name of %zu bytes has no letters or digits after normalisation",
                              strlen(name));
        goto done;
    }
    for (size_t i = 0; i < out->n_tokens; i++)
        read_digits_as_letters(out->tokens[i].text);
    assign_roles(n, out);
done:
    free(a);
    return st;
}
