/*
 * compare.c - how alike two person names are, and why.
 *
 * Contract: huella_names_compare normalises both names (normalize.c) and
 * returns a score in [0, 1] with the alignment that produced it.  The
 * score does not depend on token order (documents disagree on it: ICAO
 * Doc 9303 puts the primary identifier first, many lists write "given
 * family", others "FAMILY, Given"), and it tolerates a missing middle name
 * or one of two surnames (Spanish and Portuguese naming customs: paternal
 * and maternal surnames, one of which is often dropped).
 *
 * Method (docs/names.md has the measurements):
 *  1. Token similarity, best of: exact (1); given-name equivalents from
 *     data/names/given-name-equivalents.tsv (0.95); equal phonetic keys
 *     (0.9, phonetic.c); the mean of Jaro-Winkler (Winkler 1990) and a
 *     weighted Levenshtein ratio in which vowel, h and doubled-letter edits
 *     cost half, counted from 0.75 (0.85 for tokens of four letters or
 *     fewer, where one letter makes another name); an initial against a
 *     word that starts with it (0.75).  A final -a that makes the feminine
 *     never matches.  Equal romanisation keys (huella_names_lax_key:
 *     Korean and Chinese systems, the j, y and i of Cyrillic
 *     romanisations, Basque tx, 0.88).  A token romanised from Arabic
 *     script against a Latin spelling is aligned letter by letter
 *     (abjad_fits: the Latin with its short vowels left out, 0.92), else
 *     compared on its consonant skeleton.  A token written in kana is
 *     also compared without the vowels Japanese adds to a consonant
 *     (kana_bare: Kurt, kuruto; 0.92 when that makes it the other).
 *     Names in one non-Latin script on both sides are compared by edits
 *     only (syllables exactly).
 *  0. A field of ';'-separated spellings: each alternative, the best pair.
 *  2. Joined tokens: two adjacent tokens, or three with a particle in the
 *     middle, that make the other name's single token (Abdul Rahman ~
 *     Abdulrahman ~ Abdurrahman with the sun-letter assimilation of the
 *     Arabic article, Nur ud-Din ~ Nuruddin, Ze Dong ~ Zedong) are aligned
 *     as one.
 *  3. Optimal assignment between the two token lists (exact dynamic
 *     programming over subsets of the shorter list, which has at most 10
 *     tokens in practice; greedy beyond that).
 *  4. Score = sum of aligned similarities / (tokens of the shorter name +
 *     0.15 per token left over in the longer one, 0.10 for a left-over
 *     patronymic; half that, wherever it stands, when the shorter
 *     name is aligned whole; a whole token in front of a whole
 *     Arabic name chain), times 1 - k (1 - w) for the weakest edit-only pair w,
 *     k = 2 when it changes a consonant and 1 when it changes only vowels,
 *     h or doubling: a one-letter difference in an otherwise identical
 *     name is how two different people (Hawking/Hawkins) most often look.
 *     The constants and the default threshold were chosen on
 *     data/names/dev-pairs.tsv only.
 * Particles, titles, conjunctions and suffixes are not aligned: they
 * carry little identity and their presence varies between documents.
 */
#define _POSIX_C_SOURCE 200809L
#include "names_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS HUELLA_NAMES_MAX_TOKENS
#define DP_LIMIT  10
#define MIN_SIM   0.75
/* Costs of left-over tokens: names_internal.h (shared with screening). */
#define LEFT_COST        HUELLA_NAMES_LEFT_COST
#define LEFT_PATRO       HUELLA_NAMES_LEFT_PATRO
#define LEFT_AFTER       HUELLA_NAMES_LEFT_AFTER
#define LEFT_PATRO_AFTER HUELLA_NAMES_LEFT_PATRO_AFTER
#define LEFT_CHILD       HUELLA_NAMES_LEFT_CHILD
#define LEFT_ADDRESS     HUELLA_NAMES_LEFT_ADDRESS
#define EDIT_PENALTY     2.0
#define SOFT_PENALTY     1.0
#define SIM_EXACT        1.0
#define SIM_EQUIV        0.95
#define SIM_PHON         0.90
#define SIM_INIT         0.75
#define SIM_JOINED       0.97
#define SIM_LAX          0.88
#define SIM_ABJAD        0.92

const char *huella_name_match_name(huella_name_match how)
{
    switch (how) {
    case HUELLA_MATCH_EXACT:
        return "exact";
    case HUELLA_MATCH_EQUIVALENT:
        return "equivalent";
    case HUELLA_MATCH_PHONETIC:
        return "phonetic";
    case HUELLA_MATCH_EDIT:
        return "edit";
    case HUELLA_MATCH_INITIAL:
        return "initial";
    case HUELLA_MATCH_JOINED:
        return "joined";
    }
    return "unknown";
}

/* One unit of alignment: a token, or two adjacent tokens written as one. */
typedef struct item {
    char text[3 * HUELLA_NAMES_MAX_TOKEN];
    char key[3 * HUELLA_NAMES_MAX_TOKEN];
    char lax[3 * HUELLA_NAMES_MAX_TOKEN]; /* huella_names_lax_key */
    size_t first, second;                 /* token indexes; second is SIZE_MAX for one token */
    bool initial;
    bool abjad; /* written without short vowels (Arabic, Hebrew scripts) */
    /* Both names in one script other than Latin: one romanisation made
     * both Latin forms, so romanisation variants say nothing (김종민 and
     * 김정민 are two people; jong and jeong are one name only when two
     * systems wrote them). */
    unsigned char one_system; /* 1: an alphabet; 2: syllables (Han, Hangul, kana) */
    bool kana;                /* written in Katakana or Hiragana */
    bool arabic;              /* both names Latin and marked Arabic (arabic_name) */
    /* Read once per token, not per pair (screening compares each token
     * with thousands): the French ou read as w (french_glide; "" when it
     * has none) with its phonetic and romanisation keys, and for a token
     * of an Arabic name its short-vowel skeleton ("" otherwise). */
    char glide[3 * HUELLA_NAMES_MAX_TOKEN];
    char glide_key[3 * HUELLA_NAMES_MAX_TOKEN];
    char glide_lax[3 * HUELLA_NAMES_MAX_TOKEN];
    char vowelless[3 * HUELLA_NAMES_MAX_TOKEN];
} item;

/* Weighted Levenshtein distance: the edits that spellings of one name
 * show (a vowel for another, a vowel, h or glide w/y added or dropped, a
 * doubled letter: Salman/Salmane, Llamas/Lamas, O'Connor/O'Conner,
 * Bahraoui/Bahrawi) cost half; a consonant for another costs one
 * (Hawking/Hawkins, Hernandez/Fernandez).  So do the letters that the
 * romanisations of Arabic, Persian, Pashto and Urdu names write for one
 * sound (UK FCDO/NCTC "A Guide to Names and Naming Practices" 2006; the
 * BGN/PCGN and French, Dutch-Indonesian conventions): qaf as q, k or g
 * (Qasimi, Kasimi, Gasimi), waw as w or v (Vahdati/Wahdati),
 * the h of ha and kh written ch or kh (Mochtar/Mukhtar,
 * Akhmad/Ahmad), and the interdentals th, dh as s, z, t or d
 * (Harith/Haris, Kathim/Kazim); Somali writes ha x (Faarax/Farah).
 * Costs are kept in halves so that the
 * table holds integers. */
static bool soft(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y' || c == 'h' ||
           c == 'w';
}

/* A soft letter, but not the h of a final nh (huella_names_final_nh). */
static bool soft_at(const char *s, size_t i)
{
    return soft(s[i]) && !huella_names_final_nh(s, i);
}

static size_t indel_cost(const char *s, size_t i)
{
    /* Deleting s[i] (0-based): cheap for a soft letter, a doubled one, or
     * the c or k of ch, kh written for h inside a word (Mochtar/Mukhtar,
     * Rachmat/Rahmat).  At the start of a word ch and kh are consonants
     * of their own: Chun is not Hun, the first sound of a syllable being
     * most of a syllabic name (Korean, Chinese). */
    if (soft_at(s, i) || (i > 0 && s[i - 1] == s[i]) || s[i + 1] == s[i] ||
        (i > 0 && (s[i] == 'c' || s[i] == 'k') && s[i + 1] == 'h'))
        return 1;
    return 2;
}

/* t or d before h: the th, dh of an interdental. */
static bool interdental(const char *s, size_t i)
{
    return (s[i] == 't' || s[i] == 'd') && s[i + 1] == 'h';
}

static size_t sub_cost(const char *a, size_t i, const char *b, size_t j)
{
    char x = a[i], y = b[j];
    if (x == y)
        return 0;
    if (soft(x) && soft(y))
        return (x == 'h' && !soft_at(a, i)) || (y == 'h' && !soft_at(b, j)) ? 2 : 1;
    if ((x == 'v' && y == 'w') || (x == 'w' && y == 'v') || (x == 'q' && (y == 'k' || y == 'g')) ||
        (y == 'q' && (x == 'k' || x == 'g')) || (x == 'x' && y == 'h') || (x == 'h' && y == 'x'))
        return 1;
    if ((x == 'c' || x == 'k') && (y == 'c' || y == 'k') && a[i + 1] == 'h' && b[j + 1] == 'h')
        return 1; /* ch, kh */
    if ((interdental(a, i) && (y == 's' || y == 'z' || y == 't' || y == 'd')) ||
        (interdental(b, j) && (x == 's' || x == 'z' || x == 't' || x == 'd')))
        return 1;
    return 2;
}

/* hard: count only the edits that cost one (a consonant changed), so that
 * 0 means a spelling variant.  The deletion costs of each string are
 * read once: this runs for most pairs of tokens that screening compares. */
static size_t levenshtein_costs(const char *a, const char *b, bool hard)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 95)
        la = 95;
    if (lb > 95)
        lb = 95;
    unsigned char da[96], db[96];
    for (size_t i = 0; i < la; i++)
        da[i] = (unsigned char)(hard ? indel_cost(a, i) == 2 : indel_cost(a, i));
    for (size_t j = 0; j < lb; j++)
        db[j] = (unsigned char)(hard ? indel_cost(b, j) == 2 : indel_cost(b, j));
    size_t row[96];
    row[0] = 0;
    for (size_t j = 1; j <= lb; j++)
        row[j] = row[j - 1] + db[j - 1];
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        char x = a[i - 1];
        size_t del = da[i - 1];
        row[0] += del;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t sub = 0;
            if (x != b[j - 1]) {
                sub = sub_cost(a, i - 1, b, j - 1);
                if (hard)
                    sub = sub == 2;
            }
            size_t best = diag + sub;
            if (up + del < best)
                best = up + del;
            if (row[j - 1] + db[j - 1] < best)
                best = row[j - 1] + db[j - 1];
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static size_t levenshtein2(const char *a, const char *b)
{
    return levenshtein_costs(a, b, false);
}

/* True when a and b differ only by soft edits (vowels, h, glides, doubled
 * letters, the romanisation alternations above). */
static bool soft_variant(const char *a, const char *b)
{
    return levenshtein_costs(a, b, true) == 0;
}

/* Exact when the result is at least EDIT_EXACT_FROM; below it, an upper
 * bound that is still below it (every caller compares with a floor of
 * 0.75 or more and treats less as no match).  Most token pairs met in
 * screening are different names: their Levenshtein table is not worth
 * filling when Jaro-Winkler alone already rules them out. */
#define EDIT_EXACT_FROM 0.75
static double edit_similarity(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), longest = la > lb ? la : lb;
    if (longest == 0)
        return 1.0;
    double jw = huella_names_jaro_winkler(a, b);
    if (0.5 * jw + 0.5 < EDIT_EXACT_FROM)
        return 0.5 * jw + 0.5;
    double lev = 1.0 - (double)levenshtein2(a, b) / (2.0 * (double)longest);
    return 0.5 * jw + 0.5 * lev;
}

/* Consonant skeleton: the phonetic key of the token without vowels, weak
 * letters (w, y: the long vowels of Arabic and Hebrew) and h. */
void huella_names_skeleton(const char *text, char *out, size_t size)
{
    char bare[3 * HUELLA_NAMES_MAX_TOKEN];
    size_t o = 0, i = 0, len = strlen(text);
    /* Arabic script writes the article joined to the word it defines
     * (الشمري, al-Shammari): a leading al/el is not part of the name. */
    if ((strncmp(text, "al", 2) == 0 || strncmp(text, "el", 2) == 0) && len > 4)
        i = 2;
    /* Abdul, Abdel are "Abd al-" with the article written on the first
     * word; Arabic script writes it on the second (عبد الحكيم). */
    if (len == 5 && strncmp(text, "abd", 3) == 0 && strchr("aeiou", text[3]) != NULL &&
        text[4] == 'l')
        len = 3;
    for (; i < len && o + 1 < sizeof(bare); i++) {
        char c = text[i], next = i + 1 < len ? text[i + 1] : '\0';
        if ((c == 't' || c == 'd') && next == 'h') {
            /* The interdental and emphatic consonants (ث ذ ظ) are
             * romanised th, dh or z by different conventions. */
            bare[o++] = 'z';
            i++;
        } else if (c == 'c' && next != '\0' && strchr("eiy", next) != NULL) {
            bare[o++] = 's'; /* read before its vowel goes: Bennaci */
        } else if (c == 'g' && next != '\0' && strchr("ei", next) != NULL) {
            bare[o++] = 'j';
        } else if (strchr("aeiouywh", c) == NULL) {
            bare[o++] = c;
        }
    }
    bare[o] = '\0';
    huella_names_phonetic_key(bare, out, size);
}

static bool is_vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* True when the two tokens differ only by a final -a (added, or in place
 * of another final vowel): the feminine of the same name. */
static bool gender_pair(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la < 3 || lb < 3)
        return false;
    /* An a added after an a is a long vowel written double (Somali and
     * some Arabic romanisations: Mazza, Mazzaa), not a feminine ending. */
    if (la + 1 == lb && b[la] == 'a' && a[la - 1] != 'a' && strncmp(a, b, la) == 0)
        return true;
    if (lb + 1 == la && a[lb] == 'a' && b[lb - 1] != 'a' && strncmp(a, b, lb) == 0)
        return true;
    return la == lb && strncmp(a, b, la - 1) == 0 && a[la - 1] != b[la - 1] &&
           is_vowel(a[la - 1]) && is_vowel(b[la - 1]) && (a[la - 1] == 'a' || b[la - 1] == 'a');
}

/* ---- A Latin spelling against the romanisation of Arabic script ---------
 *
 * Arabic script writes consonants and long vowels (alif a, waw w, ya y)
 * and leaves short vowels, ayn and hamza out of what ICU's Arabic-Latin
 * gives (علي -> "ly", عزيز -> "zyz").  A Latin spelling writes every vowel.
 * So the romanised Arabic must be the Latin spelling with vowels left out:
 * every consonant of the Latin spelling meets one of the Arabic, in
 * order; an Arabic long vowel meets a Latin vowel of its class (or w/v,
 * y as consonants); a Latin vowel may meet nothing.  Consonants meet
 * within the classes that romanisation conventions disagree on (q/k/g
 * for qaf and the Egyptian g of jim, z/dh/th/d for the interdentals and
 * emphatics, sh/ch, kh/k, gh/g/q, j/g/dj, b/p, w/v).  Word-initial alif
 * (a hamza carrier) may meet any vowel or none, a final h (ta marbuta,
 * silent heh) may meet nothing, a final ya may be the alif maqsura of
 * Mustafa, doubled Latin consonants are one (Arabic writes no shadda). */

typedef struct unit {
    char c;     /* class: consonant letter or digraph code, or a/i/u */
    bool vowel; /* a Latin vowel, or Arabic alif/waw/ya */
    bool glide; /* a Latin y after a vowel (Husayn): Arabic writes it */
} unit;

#define MAX_UNITS 40

/* Character tests without strchr: these run for every pair of tokens. */
static bool digraph_head(char c)
{
    return c == 's' || c == 'c' || c == 'k' || c == 'g' || c == 't' || c == 'd' || c == 'z';
}

static bool plain_vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

static bool short_mark(char c)
{
    return c == 'i' || c == 'u' || c == 'e' || c == 'o';
}

static bool sun_letter(char c)
{
    return c == 't' || c == 'T' || c == 'd' || c == 'D' || c == 'r' || c == 'z' || c == 's' ||
           c == 'S' || c == 'n' || c == 'l';
}

/* digraphs: read sh, kh, th... as one consonant; else letter by letter
 * (ICU writes ط followed by ه "th" too: Taha). */
static size_t units_of(const char *s, bool arabic, bool digraphs, unit *u)
{
    size_t n = 0, len = strlen(s);
    for (size_t i = 0; i < len && n < MAX_UNITS;) {
        char c = s[i], nx = i + 1 < len ? s[i + 1] : 0;
        unit x = {c, false, false};
        size_t step = 1;
        if (digraphs && nx == 'h' && digraph_head(c)) {
            x.c = c == 's'   ? 'S'
                  : c == 'c' ? 'C'
                  : c == 'k' ? 'K'
                  : c == 'g' ? 'G'
                  : c == 't' ? 'T'
                  : c == 'd' ? 'D'
                             : 'Z';
            step = 2;
        } else if (arabic) {
            /* Long vowels; i, u, e, o only come from written short
             * vowel marks, which may meet nothing. */
            x.vowel = c == 'a' || c == 'w' || c == 'y' || short_mark(c);
        } else if (c == 'y' && nx == 'y') {
            step = 2; /* Sayyid: one ya with shadda */
        } else if (c == 'd' && nx == 'j') {
            x.c = 'j';
            step = 2;
        } else if (c == 'p' && nx == 'h') {
            x.c = 'f';
            step = 2;
        } else if (c == 'c') {
            /* k or s (French ç is c by now: Faycal); consonants_meet
             * takes either. */
            step = nx == 'k' ? 2 : 1;
        } else if (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' ||
                   (c == 'y' && !plain_vowel(nx))) {
            x.c = c == 'a' ? 'a' : (c == 'o' || c == 'u') ? 'u' : 'i';
            x.vowel = true;
            x.glide = c == 'y' && i > 0;
        }
        /* Doubled consonants are one (Allah is written with two lams). */
        if (!x.vowel && n > 0 && !u[n - 1].vowel && u[n - 1].c == x.c) {
            i += step;
            continue;
        }
        u[n++] = x;
        i += step;
    }
    return n;
}

static bool consonants_meet(char l, char a)
{
    if (l == a)
        return true;
    switch (a) {
    case 'b':
    case 'p':
        return l == 'b' || l == 'p';
    case 'T': /* th */
        return l == 't' || l == 's';
    case 'j':
        return l == 'g' || l == 'Z';
    case 'K': /* kh */
        return l == 'k' || l == 'C';
    case 'd': /* dad: d, dh, and z in Persian and Urdu (Fazl, Faiz) */
        return l == 'D' || l == 'z';
    case 'D': /* dh */
    case 'z':
        return l == 'd' || l == 'z' || l == 'D' || l == 'T';
    case 's':
        return l == 'c' || l == 'T';
    case 'S': /* sh */
        return l == 'C';
    case 'G': /* gh */
        return l == 'g' || l == 'q';
    case 'q':
    case 'k':
    case 'g':
        return l == 'q' || l == 'k' || l == 'g' || l == 'G' || l == 'c';
    case 'C':
        return l == 'S';
    case 'Z':
        return l == 'j' || l == 'z';
    default:
        return false;
    }
}

static bool unit_meets(const unit *l, const unit *a, bool maqsura)
{
    if (!a->vowel)
        return !l->vowel && consonants_meet(l->c, a->c);
    switch (a->c) {
    case 'a':
        return l->vowel && (l->c == 'a' || l->c == 'i');
    case 'i':
    case 'e':
        return l->vowel && l->c == 'i';
    case 'u':
    case 'o':
        return l->vowel && l->c == 'u';
    case 'w':
        return l->vowel ? l->c == 'u' : (l->c == 'w' || l->c == 'v');
    default: /* y */
        return l->vowel ? (l->c == 'i' || (maqsura && l->c == 'a')) : l->c == 'y';
    }
}

/* The alif of the article al- (a followed by l, not first): in a name of
 * two words written as one (Nuruddin, Abdullah) it is read with any
 * vowel or none. */
static bool article_a(const unit *a, size_t na, size_t j)
{
    return j > 0 && j + 1 < na && a[j].vowel && a[j].c == 'a' && !a[j + 1].vowel &&
           a[j + 1].c == 'l';
}

/* The l of the article before a "sun letter" is not pronounced: the
 * Latin writes the next consonant doubled (ad-Din, ar-Rahman). */
static bool sun_l(const unit *a, size_t na, size_t j)
{
    return j > 0 && j + 1 < na && a[j].c == 'l' && !a[j].vowel && a[j - 1].vowel &&
           a[j - 1].c == 'a' && !a[j + 1].vowel && sun_letter(a[j + 1].c);
}

static bool abjad_fits_units(const unit *l, size_t nl, const unit *a, size_t na)
{
    /* Counts first: every Latin consonant meets an Arabic consonant, or a
     * waw or ya read as w, v, y; every Arabic consonant is met but a
     * final h and the l of an article. */
    size_t l_cons = 0, a_cons = 0, a_wy = 0, a_free = 0;
    for (size_t i = 0; i < nl; i++)
        l_cons += !l[i].vowel;
    for (size_t j = 0; j < na; j++) {
        a_cons += !a[j].vowel;
        a_wy += a[j].vowel && (a[j].c == 'w' || a[j].c == 'y');
        a_free += (j + 1 == na && a[j].c == 'h') || sun_l(a, na, j);
    }
    if (l_cons > a_cons + a_wy || l_cons + a_free < a_cons)
        return false;
    /* reach(i, j): the first i Latin units explain the first j Arabic. */
    bool table[(MAX_UNITS + 1) * (MAX_UNITS + 1)];
    size_t w = na + 1;
#define reach(i, j) table[(i)*w + (j)]
    memset(table, 0, (nl + 1) * w * sizeof(bool));
    reach(0, 0) = true;
    for (size_t i = 0; i <= nl; i++)
        for (size_t j = 0; j <= na; j++) {
            if (!reach(i, j))
                continue;
            if (i < nl && l[i].vowel && !l[i].glide)
                reach(i + 1, j) = true; /* a short vowel */
            if (j < na &&
                ((j == 0 && a[0].vowel && a[0].c == 'a') || (a[j].vowel && short_mark(a[j].c)) ||
                 (j + 1 == na && a[j].c == 'h' && i > 0 && l[i - 1].vowel) || article_a(a, na, j) ||
                 sun_l(a, na, j)))
                reach(i, j + 1) = true; /* initial alif, short vowel, final h, article */
            if (i < nl && j < na && l[i].vowel && article_a(a, na, j))
                reach(i + 1, j + 1) = true; /* al- read with a case vowel: Nur ud-Din */
            /* A final ya may be alif maqsura (Mustafa, Musa, Isa: ICU
             * writes both "y"), but not in a name of two letters, where
             * it tells Ali ("ly") from Ala. */
            if (i < nl && j < na && unit_meets(&l[i], &a[j], j + 1 == na && na >= 3))
                reach(i + 1, j + 1) = true;
        }
    bool fits = reach(nl, na);
#undef reach
    return fits;
}

/* Leading article al-/el- and the Abd al- written on the first word. */
static const char *bare_latin(const char *t, char *buf, size_t size)
{
    size_t len = strlen(t);
    /* Abdul, Abdel, and with the l assimilated Abdur, Abdus, Abdun. */
    if (len == 5 && strncmp(t, "abd", 3) == 0 && strchr("aeiou", t[3]) != NULL &&
        strchr("lrsntdz", t[4]) != NULL) {
        snprintf(buf, size, "abd");
        return buf;
    }
    if ((strncmp(t, "al", 2) == 0 || strncmp(t, "el", 2) == 0) && len > 4)
        return t + 2;
    return t;
}

static bool abjad_fits(const char *latin, const char *arabic)
{
    unit l[MAX_UNITS], a[MAX_UNITS];
    char buf[8];
    const char *lt[2] = {latin, bare_latin(latin, buf, sizeof(buf))};
    const char *at[2] = {arabic,
                         strncmp(arabic, "al", 2) == 0 && strlen(arabic) > 3 ? arabic + 2 : arabic};
    for (size_t p = 0; p < 2; p++) {
        if (p == 1 && lt[1] == lt[0])
            continue;
        size_t nl = units_of(lt[p], false, true, l);
        for (size_t q = 0; q < 2; q++) {
            if (q == 1 && at[1] == at[0])
                continue;
            bool digraph = false;
            for (const char *c = at[q]; *c != '\0' && !digraph; c++)
                digraph = c[1] == 'h' && digraph_head(c[0]);
            for (int dg = 1; dg >= (digraph ? 0 : 1); dg--) {
                size_t na = units_of(at[q], true, dg, a);
                /* A single consonant and its vowels is too little to go
                 * on unless the Arabic writes a long vowel too (Ali ~
                 * "ly"). */
                size_t consonants = 0;
                for (size_t k = 0; k < na; k++)
                    consonants += !a[k].vowel;
                if (consonants == 0 || (consonants == 1 && na < 2))
                    continue;
                if (nl < MAX_UNITS && na < MAX_UNITS && abjad_fits_units(l, nl, a, na))
                    return true;
            }
        }
    }
    return false;
}

/* Blocking key for abjad_fits (screening): the consonants of a token in
 * the coarse classes abjad_fits lets meet (b/p; t; d/z/dh and th as d or
 * z; s/c/th; sh/ch; j/zh; k/q/g/gh/kh/c; f; l m n r), without vowels,
 * h, w, v, y (waw and ya are vowels or consonants; Persian waw is v),
 * repeated classes, a leading al-, and Abdul/Abdur read as Abd.
 * The classes overlap in abjad_fits (th is t, s or z; g is k or j) and not
 * here, so a rare pair is found only through its other tokens. */
void huella_names_abjad_key(const char *text, char *out, size_t size)
{
    char buf[8];
    const char *t = bare_latin(text, buf, sizeof(buf));
    if (t == text && strncmp(text, "al", 2) == 0 && strlen(text) > 3)
        t = text + 2;
    size_t o = 0, len = strlen(t);
    char last = 0;
    for (size_t i = 0; i < len && o + 1 < size; i++) {
        char c = t[i], nx = i + 1 < len ? t[i + 1] : 0, k = 0;
        if (nx == 'h' && (c == 's' || c == 'c')) {
            k = 'X';
            i++;
        } else if (nx == 'h' && (c == 'k' || c == 'g')) {
            k = 'K';
            i++;
        } else if (nx == 'h' && (c == 'd' || c == 't' || c == 'z')) {
            k = c == 't' ? 'S' : 'D';
            i++;
        } else if (c == 'd' && nx == 'j') {
            k = 'J';
            i++;
        } else {
            switch (c) {
            case 'b':
            case 'p':
                k = 'B';
                break;
            case 'd':
            case 'z':
                k = 'D';
                break;
            case 's':
                k = 'S';
                break;
            case 'c':
                k = nx == 'e' || nx == 'i' || nx == 'y' ? 'S' : 'K';
                break;
            case 'k':
            case 'q':
            case 'g':
                k = 'K';
                break;
            case 'j':
                k = 'J';
                break;
            case 'f':
            case 'l':
            case 'm':
            case 'n':
            case 'r':
            case 't':
                k = (char)(c - 'a' + 'A');
                break;
            default:
                k = 0; /* vowels, h, w, v, y */
                break;
            }
        }
        if (k != 0 && k != last)
            out[o++] = k;
        last = k != 0 ? k : last;
    }
    out[o] = '\0';
}

/* Romanisation key: how one sound written by different romanisation
 * systems meets itself.  Korean (McCune-Reischauer against Revised
 * Romanisation and common practice) and Chinese (Wade-Giles against
 * Pinyin) write the unaspirated stops k/g, t/d, p/b, ch/j/zh and ts/z
 * either way, and the liquid r/l; Korean eo/o/u and eu/u are one
 * vowel in different systems.  So: voiced and voiceless stops merge,
 * the affricates merge, r is l, a vowel run is one of three classes (o/u
 * if it holds one, else e/i/y, else a), h after a consonant or alone is
 * dropped, doubled letters collapse.  Only equality of whole keys is
 * used, and only for tokens of two or more letters. */
static bool vowel_or_y(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

/* Spellings that other transliteration systems give the same sound,
 * rewritten before the key is taken:
 *  - Cyrillic й, and the ь, ъ or я ю ё after a consonant: ISO 9, GOST
 *    7.79, the German (Duden) and South Slavic romanisations write j
 *    (Andrej, Dmitrij, Tatjana, Ljudmila), BGN/PCGN y (Andrey, Dmitriy,
 *    Tatyana, Lyudmila), ICAO Doc 9303 i (Andrei, Dmitrii, Tatiana,
 *    Liudmila).  So a j after a vowel and before no vowel, or between
 *    l, r, t, b, v, s or z and a vowel, is the glide y.  Not after n, m,
 *    k, g or p, which end Korean and Chinese syllables written joined
 *    (Minjun and Minyun are two Korean names), nor d (the dj of French
 *    Djamel); a j at the start of a word stays a consonant (Jang and
 *    Yang, Juan and Yuan are two names);
 *  - Е at the start of a word: BGN/PCGN ye (Yelena, Yevgeniy), ICAO
 *    and GOST e (Elena, Evgenii): the glide of an initial ye is dropped
 *    in a word of four letters or more, not before o (the Korean yeo of
 *    Yeon, Yeong, which are not Eon, Eong).  Not je (the German Jelena):
 *    a Korean je is the che of McCune-Reischauer (Je-son, Che-son), and
 *    Jeong is not Ong;
 *  - Basque orthography (Euskaltzaindia) writes tx the sound Spanish
 *    writes ch (Etxeberria, Echeverria; Txurruka, Churruca);
 *  - Wade-Giles writes the syllables Pinyin writes zi, ci and si tzu,
 *    tz'u and ssu or szu (Tzu-hao, Zihao): a word beginning so begins
 *    with zi or si;
 *  - Korean 희: hui in the Revised Romanisation, hŭi in
 *    McCune-Reischauer, hee or hi in common practice (Yeonhee, Yonhui):
 *    a ui after h and before no vowel is i;
 *  - Vietnamese -nh and -n are two finals (Thanh, Than): a final nh
 *    keeps a mark of its own instead of losing its h. */
static void lax_respell(const char *s, char *out, size_t size)
{
    size_t n = strlen(s), o = 0, i = 0;
    if (s[0] == 'y' && s[1] == 'e' && s[2] != 'o' && n >= 4)
        i = 1;
    if ((strncmp(s, "tzu", 3) == 0 || strncmp(s, "ssu", 3) == 0 || strncmp(s, "szu", 3) == 0) &&
        (s[3] == 0 || !vowel_or_y(s[3]))) {
        out[o++] = s[0] == 't' ? 'z' : 's';
        out[o++] = 'i';
        i = 3;
    }
    for (; i < n && o + 2 < size; i++) {
        char c = s[i], prev = i > 0 ? s[i - 1] : 0, nx = s[i + 1];
        bool nx_vowel = nx != 0 && vowel_or_y(nx);
        if (c == 't' && nx == 'x') {
            out[o++] = 'c';
            out[o++] = 'h';
            i++;
        } else if (c == 'j' && i > 0 &&
                   ((vowel_or_y(prev) && !nx_vowel) ||
                    (nx_vowel && prev != 0 && strchr("lrtbvsz", prev) != NULL))) {
            out[o++] = 'y';
        } else if (c == 'u' && prev == 'h' && nx == 'i' &&
                   (s[i + 2] == 0 || !vowel_or_y(s[i + 2]))) {
            out[o++] = 'i'; /* Korean hui (RR) and hee (common practice) */
            i++;
        } else if (c == 'n' && i > 0 && huella_names_final_nh(s, i + 1)) {
            out[o++] = 'n';
            out[o++] = '#'; /* no letter: a key of its own */
            i++;
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
}

/* Does lax_respell change anything in s?  Most tokens have none of its
 * letters: one pass, and no copy, for them (screening computes the keys
 * of every listed name it compares). */
static bool lax_needs_respell(const char *s)
{
    if ((s[0] == 'y' && s[1] == 'e') || ((s[0] == 't' || s[0] == 's') && s[1] != 0 && s[2] == 'u'))
        return true;
    for (size_t i = 0; s[i] != 0; i++) {
        char c = s[i];
        if (c == 'j' || (c == 'x' && i > 0 && s[i - 1] == 't') || huella_names_final_nh(s, i) ||
            (c == 'h' && s[i + 1] == 'u' && s[i + 2] == 'i'))
            return true;
    }
    return false;
}

void huella_names_lax_key(const char *text, char *out, size_t size)
{
    char buf[3 * HUELLA_NAMES_MAX_TOKEN + 8];
    const char *s = text;
    if (lax_needs_respell(text)) {
        lax_respell(text, buf, sizeof(buf));
        s = buf;
    }
    size_t n = strlen(s), o = 0;
    char last = 0;
    for (size_t i = 0; i < n && o + 1 < size;) {
        char c = s[i], nx = i + 1 < n ? s[i + 1] : 0, nx2 = i + 2 < n ? s[i + 2] : 0;
        char k = 0;
        size_t step = 1;
        /* y between a consonant and a vowel palatalises it (Russian ё
         * and е: Fyodor, Fedor; Pyotr, Petr): a front vowel. */
        bool palatal = c == 'y' && i > 0 && !vowel_or_y(s[i - 1]) && nx != 0 && vowel_or_y(nx);
        if (palatal || (vowel_or_y(c) && !(c == 'y' && nx != 0 && vowel_or_y(nx) && nx != 'y'))) {
            size_t e = i;
            bool back = false, front = false;
            while (e < n && vowel_or_y(s[e])) {
                back |= s[e] == 'o' || s[e] == 'u';
                front |= s[e] == 'e' || s[e] == 'i' || s[e] == 'y';
                e++;
            }
            k = palatal ? 'i' : back ? 'u' : front ? 'i' : 'a';
            step = e - i;
        } else {
            switch (c) {
            case 'b':
            case 'p':
                k = 'p';
                step = nx == 'h' && c == 'p' ? 2 : 1;
                if (step == 2)
                    k = 'f';
                break;
            case 'd':
                if (nx == 'z' && nx2 == 'h') {
                    k = 'j';
                    step = 3;
                } else if (nx == 'j') {
                    k = 'j';
                    step = 2;
                } else {
                    k = 't';
                    step = nx == 'h' ? 2 : 1;
                }
                break;
            case 't':
                if (nx == 's' || nx == 'z') {
                    k = 's';
                    step = 2;
                } else if (nx == 'c' && nx2 == 'h') {
                    k = 'j';
                    step = 3;
                } else {
                    k = 't';
                    step = nx == 'h' ? 2 : 1;
                }
                break;
            case 'g':
            case 'k':
            case 'q':
                /* Pinyin qi is Wade-Giles ch'i (Zhiqiang, Chih-ch'iang). */
                k = c == 'q' && nx == 'i' ? 'j' : 'k';
                step = nx == 'h' || (c == 'q' && nx == 'u') ? 2 : 1;
                break;
            case 'c':
                if (nx == 'h') {
                    k = 'j';
                    step = 2;
                } else
                    k = nx == 'e' || nx == 'i' || nx == 'y' ? 's' : 'k';
                break;
            case 'j':
                k = 'j';
                break;
            case 'z':
                k = nx == 'h' ? 'j' : 's';
                step = nx == 'h' ? 2 : 1;
                break;
            case 's':
                k = nx == 'h' ? 'x' : 's';
                step = nx == 'h' ? 2 : 1;
                break;
            case 'x':
                k = 'x';
                break;
            case 'r':
            case 'l':
                k = 'l';
                break;
            case 'v':
            case 'w':
                k = 'w';
                break;
            case 'h':
                k = nx == 's' ? 'x' : 0; /* Wade-Giles hs is Pinyin x */
                step = nx == 's' ? 2 : 1;
                break;
            default:
                k = c;
                break;
            }
        }
        if (k != 0 && k != last)
            out[o++] = k;
        if (k != 0)
            last = k;
        i += step;
    }
    out[o] = '\0';
}

/* Japanese writes a foreign name in kana, whose syllables end in a vowel
 * or n: a consonant with no vowel of its own takes an epenthetic u (o
 * after t and d), which the Hepburn romanisation of the kana keeps
 * (Kurt, クルト, kuruto; Schmidt, シュミット, shumitto; Frank, フランク,
 * furanku).  The kana token without them: a u after a consonant that
 * does not begin the word (nor n, a syllable of its own), before a
 * consonant or at the end, and a final o after t or d; with `onset`,
 * also the u between a first consonant and another (the fr of Frank,
 * the st of Stone, where the ku of Kurt is a true vowel: both are
 * tried). */
static void kana_bare(const item *x, bool onset, item *out)
{
    *out = *x;
    size_t n = strlen(x->text), o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = x->text[i], prev = i > 0 ? x->text[i - 1] : 0, nx = x->text[i + 1];
        bool after_consonant = prev != 0 && !vowel_or_y(prev) && prev != 'n';
        if (c == 'u' && after_consonant && i >= 2 && (nx == 0 || !vowel_or_y(nx)))
            continue;
        if (c == 'u' && onset && i == 1 && after_consonant && nx != 0 && !vowel_or_y(nx))
            continue;
        if (c == 'o' && nx == 0 && (prev == 't' || prev == 'd') && i >= 2)
            continue;
        out->text[o++] = c;
    }
    out->text[o] = '\0';
    huella_names_phonetic_key(out->text, out->key, sizeof(out->key));
    huella_names_lax_key(out->text, out->lax, sizeof(out->lax));
    out->glide[0] = '\0'; /* kana is no French spelling */
    out->vowelless[0] = '\0';
}

/* French transcription of Arabic (and of the West African names written
 * in French, Maghreb and Sahel civil registers) writes the glide waw ou
 * before a vowel, where English and scholarly systems write w: Oualid,
 * Walid; Marouane, Marwan; Ouassim, Wasim; Sahraoui, Sahrawi; Aouad,
 * Awad.  After an a and before a consonant the ou is the diphthong aw:
 * Chaouki, Shawki (شوقي).  Writes s with those ou read as w into out and
 * returns whether anything changed.  An ou that is a vowel (Youssef,
 * Moustafa) is left alone: the keys already read it as u.  Only used as a
 * second reading beside the spelling as written (so Touati still meets
 * Tuati), not in the keys the screening index shares. */
static bool french_glide(const char *s, char *out, size_t size)
{
    size_t n = strlen(s), o = 0;
    bool changed = false;
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        char prev = i > 0 ? s[i - 1] : 0;
        if (s[i] == 'o' && s[i + 1] == 'u') {
            char nx = s[i + 2];
            bool before_vowel = nx == 'a' || nx == 'e' || nx == 'i';
            bool diphthong = prev == 'a' && nx != 0 && !vowel_or_y(nx);
            if (before_vowel || diphthong) {
                out[o++] = 'w';
                i++;
                changed = true;
                continue;
            }
        }
        out[o++] = s[i];
    }
    out[o] = '\0';
    return changed;
}

/* Do x and y meet once the French ou of either is read as w?  Equal
 * phonetic or romanisation keys of the respelt forms (Chaouki, chawki,
 * Shawki), or the edit similarity of the respelt forms when it is higher
 * than e (Marouane, marwane, Marwan). */
static double french_similarity(const item *x, const item *y, double e, huella_name_match *how)
{
    if (x->glide[0] == 0 && y->glide[0] == 0)
        return 0.0;
    const char *tx = x->glide[0] ? x->glide : x->text, *ty = y->glide[0] ? y->glide : y->text;
    const char *kx = x->glide[0] ? x->glide_key : x->key, *ky = y->glide[0] ? y->glide_key : y->key;
    /* As for keys equal as written, the similarity is the spelling's as
     * written, at least the key's: one sound, two spellings, never 1.0. */
    if (strlen(kx) >= 2 && strcmp(kx, ky) == 0) {
        *how = HUELLA_MATCH_PHONETIC;
        return e > SIM_PHON ? e : SIM_PHON;
    }
    kx = x->glide[0] ? x->glide_lax : x->lax;
    ky = y->glide[0] ? y->glide_lax : y->lax;
    if (strlen(kx) >= 2 && strcmp(kx, ky) == 0) {
        *how = HUELLA_MATCH_PHONETIC;
        return e > SIM_LAX ? e : SIM_LAX;
    }
    /* Otherwise the edits left once the glide is read (the mute final e
     * of Marouane against Marwan), counted as an edit. */
    double ef = edit_similarity(tx, ty);
    *how = HUELLA_MATCH_EDIT;
    return ef > e ? ef : e;
}

/* The consonants of a Latin token, its short vowels a, e, i, o, u left
 * out (y and w, which write the long vowels and diphthongs of Arabic
 * ay, aw, stay), through the phonetic key, doubled letters one. */
static size_t short_vowel_skeleton(const char *s, char *out, size_t size)
{
    char bare[3 * HUELLA_NAMES_MAX_TOKEN];
    size_t o = 0;
    for (size_t i = 0; s[i] != 0 && o + 1 < sizeof(bare); i++)
        if (!is_vowel(s[i]))
            bare[o++] = s[i];
    bare[o] = '\0';
    huella_names_phonetic_key(bare, out, size);
    return strlen(out);
}

/* The short vowels of a Latin token slot by slot: the token without h
 * (which the skeleton drops) and with doubled letters once, cut after
 * each consonant; slot 0 holds the vowels before the first consonant.
 * Each slot keeps one class: u for a run with o or u, else i, else e,
 * else a; 0 for no vowel.  Returns the number of consonants, or SIZE_MAX
 * when there are too many. */
#define MAX_SLOTS 24
static size_t vowel_slots(const char *s, char *slot)
{
    size_t c = 0;
    char last = 0;
    slot[0] = 0;
    for (size_t i = 0; s[i] != 0; i++) {
        char ch = s[i];
        if (ch == 'h' || ch == last)
            continue;
        last = ch;
        if (is_vowel(ch)) {
            char k = ch == 'o' || ch == 'u' ? 'u' : ch;
            char *v = &slot[c];
            if (*v == 0 || k == 'u' || (k == 'i' && *v != 'u') || (k == 'e' && *v == 'a'))
                *v = k;
            continue;
        }
        if (++c >= MAX_SLOTS)
            return SIZE_MAX;
        slot[c] = 0;
    }
    return c;
}

/* Do two short vowels disagree only as romanisations of one Arabic vowel
 * do?  Fatha is written a or e (Mohamad, Mohamed), kasra e or i, damma o
 * or u, and kasra and damma i or u in dialects (Juburi, Jiburi); a vowel
 * written on one side only is a vowel one writer left out.  A against i
 * or u is another pattern of long and short vowels, another name (Faris,
 * Firas; Shakir, Shukri). */
static bool vowels_agree(char a, char b)
{
    if (a == 0 || b == 0 || a == b)
        return true;
    char lo = a < b ? a : b, hi = a < b ? b : a;
    return (lo == 'a' && hi == 'e') || (lo == 'e' && hi == 'i') || (lo == 'i' && hi == 'u');
}

static bool short_vowels_agree(const char *x, const char *y)
{
    char sx[MAX_SLOTS + 1], sy[MAX_SLOTS + 1];
    size_t cx = vowel_slots(x, sx), cy = vowel_slots(y, sy);
    if (cx == SIZE_MAX || cx != cy)
        return false;
    for (size_t k = 0; k <= cx; k++)
        if (!vowels_agree(sx[k], sy[k]))
            return false;
    return true;
}

static double token_similarity(const huella_names *n, const item *x, const item *y,
                               huella_name_match *how)
{
    if (strcmp(x->text, y->text) == 0) {
        *how = HUELLA_MATCH_EXACT;
        return SIM_EXACT;
    }
    if (x->initial || y->initial) {
        const item *word = x->initial ? y : x, *init = x->initial ? x : y;
        if (word->initial)
            return 0.0; /* two different initials */
        *how = HUELLA_MATCH_INITIAL;
        return word->text[0] == init->text[0] ? SIM_INIT : 0.0;
    }
    int eq = huella_names_equivalent(n, x->text, y->text);
    if (eq == 1) {
        *how = HUELLA_MATCH_EQUIVALENT;
        return SIM_EQUIV;
    }
    if (eq == 0 && x->abjad != y->abjad) {
        /* Two known given names, each in its group: محمود is Mahmud,
         * whatever its consonants share with Muhammad. */
        *how = HUELLA_MATCH_EDIT;
        return 0.0;
    }
    if (x->one_system != 0 || y->one_system != 0) {
        /* One romanisation wrote both: a token of one syllable or
         * character that differs is another character (李建明, 李建朋);
         * in an alphabet only spelling differences count (a typo), as
         * edits, not the phonetic and romanisation keys. */
        *how = HUELLA_MATCH_EDIT;
        if (x->one_system == 2 || y->one_system == 2 || gender_pair(x->text, y->text))
            return 0.0;
        size_t sh = strlen(x->text) < strlen(y->text) ? strlen(x->text) : strlen(y->text);
        double es = edit_similarity(x->text, y->text);
        return es >= (sh <= 4 ? 0.85 : MIN_SIM) ? es : 0.0;
    }
    if (x->abjad != y->abjad && !x->initial && !y->initial &&
        abjad_fits(x->abjad ? y->text : x->text, x->abjad ? x->text : y->text)) {
        *how = HUELLA_MATCH_PHONETIC;
        return SIM_ABJAD;
    }
    if (x->abjad || y->abjad) {
        /* Arabic and Hebrew write no short vowels, so their romanisation
         * (Arabic-Latin gives "mhmd", "ywsf") can only meet a Latin spelling
         * on its consonant skeleton. */
        char kx[sizeof(x->key)], ky[sizeof(y->key)];
        huella_names_skeleton(x->text, kx, sizeof(kx));
        huella_names_skeleton(y->text, ky, sizeof(ky));
        size_t lk = strlen(kx) < strlen(ky) ? strlen(kx) : strlen(ky);
        if (lk >= 2 && strcmp(kx, ky) == 0) {
            *how = HUELLA_MATCH_PHONETIC;
            return lk >= 3 ? SIM_PHON : 0.85;
        }
        if (lk >= 2) {
            double ek = lk >= 3 ? edit_similarity(kx, ky) : 0.0;
            *how = HUELLA_MATCH_EDIT;
            return ek >= 0.8 ? 0.9 * ek : 0.0;
        }
        /* A skeleton of one consonant says nothing (Hadi and هادي both
         * give "d"); the long vowels that Arabic and Hebrew do write
         * (alif, waw, ya: "hady") make the romanisation close enough to
         * compare as spelt, below. */
    }
    if (gender_pair(x->text, y->text)) {
        /* Gabriel/Gabriela, Mario/Maria, Kuznetsov/Kuznetsova: grammatical
         * gender in Romance and Slavic names marks another person. */
        *how = HUELLA_MATCH_EDIT;
        return 0.0;
    }
    double e = edit_similarity(x->text, y->text);
    size_t shortest = strlen(x->text) < strlen(y->text) ? strlen(x->text) : strlen(y->text);
    /* Equal keys: one sound spelt two ways (Barack/Barak), so the edit
     * distance, however small, is not a consonant changed by a typo. */
    if (strlen(x->key) >= 2 && strcmp(x->key, y->key) == 0 && shortest >= 3) {
        *how = HUELLA_MATCH_PHONETIC;
        return e > SIM_PHON ? e : SIM_PHON;
    }
    if (shortest >= 2) {
        const char *lx = x->lax, *ly = y->lax;
        if (strlen(lx) >= 2 && strcmp(lx, ly) == 0) {
            *how = HUELLA_MATCH_PHONETIC;
            return e > SIM_LAX ? e : SIM_LAX;
        }
    }
    /* Both names Arabic (an article or a nasab in each), written in Latin
     * letters: Arabic script writes no short vowels, so the romanisations
     * of one name supply them as each writer hears them (Mushakhas,
     * Mishkhis; Shihata, Shahata; Hanafi, Hanifi), as a name written in
     * Arabic script is compared on its consonants. */
    if (x->arabic && y->arabic && shortest >= 4 && strlen(x->vowelless) >= 3 &&
        strcmp(x->vowelless, y->vowelless) == 0) {
        if (short_vowels_agree(x->text, y->text)) {
            *how = HUELLA_MATCH_PHONETIC;
            return e > SIM_LAX ? e : SIM_LAX;
        }
    }
    /* Short tokens: one letter makes another name (Ali/Ala, Ivan/Iran). */
    double floor = shortest <= 4 ? 0.85 : MIN_SIM;
    if (shortest >= 3) {
        huella_name_match how_fr = HUELLA_MATCH_EDIT;
        double f = french_similarity(x, y, e, &how_fr);
        if (how_fr == HUELLA_MATCH_PHONETIC || f > e) {
            *how = how_fr;
            if (how_fr == HUELLA_MATCH_PHONETIC)
                return f;
            e = f;
        }
    }
    *how = HUELLA_MATCH_EDIT;
    return e >= floor ? e : 0.0;
}

/* Patronymics (the nasab after bin/ibn, Russian -ovich/-ovna) come and go
 * between documents of one person, so leaving one over costs less. */
static bool nasab_word(const char *t)
{
    static const char *const words[] = {"bin", "ibn",  "ben",  "bint", "binti",
                                        "bn",  "ould", "wuld", "bte",  "binte"};
    for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++)
        if (strcmp(t, words[k]) == 0)
            return true;
    return false;
}

/* Token i follows bin, ibn, ould...: it names the father (or an older
 * ancestor), not the person. */
static bool after_nasab(const huella_name *nm, size_t i)
{
    /* Over an article: Adel ben al-Tahar. */
    while (i > 0 && nm->tokens[i - 1].role == HUELLA_NAME_PARTICLE &&
           !nasab_word(nm->tokens[i - 1].text))
        i--;
    return i > 0 && nasab_word(nm->tokens[i - 1].text);
}

static bool has_nasab(const huella_name *nm)
{
    for (size_t i = 0; i + 1 < nm->n_tokens; i++)
        if (nasab_word(nm->tokens[i].text))
            return true;
    return false;
}

/* The Arabic article (al-, el-) before a word: a family, tribal or
 * place name (nisba) closing a name chain. */
static bool has_article(const huella_name *nm)
{
    for (size_t i = 0; i + 1 < nm->n_tokens; i++)
        if (nm->tokens[i].role == HUELLA_NAME_PARTICLE &&
            (strcmp(nm->tokens[i].text, "al") == 0 || strcmp(nm->tokens[i].text, "el") == 0))
            return true;
    return false;
}

static bool patronymic(const huella_name *nm, size_t i)
{
    static const char *const endings[] = {"ovich", "evich",  "ovna", "evna", "ovych",
                                          "ivna",  "yevych", "ovic", "evic"};
    if (after_nasab(nm, i))
        return true;
    size_t len = strlen(nm->tokens[i].text);
    for (size_t k = 0; k < sizeof(endings) / sizeof(endings[0]); k++) {
        size_t le = strlen(endings[k]);
        if (len > le + 2 && strcmp(nm->tokens[i].text + len - le, endings[k]) == 0)
            return true;
    }
    return false;
}

bool huella_names_devotional(const huella_names *n, const char *token)
{
    if (token[0] != 'm') /* all its Latin spellings */
        return false;
    long g = huella_names_equivalent_group(n, token);
    return g >= 0 && g == huella_names_equivalent_group(n, "muhammad");
}

bool huella_names_address_form(const huella_names *n, const huella_name *nm)
{
    size_t words = 0, word = 0;
    bool titled = false;
    for (size_t k = 0; k < nm->n_tokens; k++) {
        titled |= nm->tokens[k].role == HUELLA_NAME_TITLE;
        if (nm->tokens[k].role == HUELLA_NAME_WORD || nm->tokens[k].role == HUELLA_NAME_INITIAL) {
            words++;
            word = k;
        }
    }
    return titled && words == 1 && nm->tokens[word].role == HUELLA_NAME_WORD &&
           huella_names_equivalent_group(n, nm->tokens[word].text) < 0;
}

/* Cost of a token left over in the longer name.  When the shorter name
 * is aligned whole (first_aligned is not SIZE_MAX - 1), a left-over token
 * is a middle name, a further given name or surname, or an ancestor, and
 * costs LEFT_AFTER wherever it stands: lists write the surname first
 * (TAVARES QUINTELA, Rui Manuel) and documents differ in name order, so
 * the position of a left-over word against the aligned ones says little
 * (until the fifth session a word in front cost LEFT_COST; the screening
 * index's estimate never told the two apart).  The exception is a name
 * written in front of a whole Arabic name chain: that is how a child's
 * name is written (Samira Khalid Mahmoud is Khalid Mahmoud's daughter),
 * another person. */
static double leftover_cost(const huella_names *n, const huella_name *nm, size_t i,
                            size_t first_aligned, bool chain)
{
    if (chain && first_aligned != SIZE_MAX - 1 && i < first_aligned)
        return LEFT_CHILD;
    /* Muhammad written before a man's own name is a devotional prefix in
     * South Asia and much of Africa, left out in everyday use (Mohammad
     * Rafiullah ~ Rafiullah): it costs what a patronymic costs, wherever it stands,
     * when the rest of the shorter name is aligned. */
    if (first_aligned != SIZE_MAX - 1 && huella_names_devotional(n, nm->tokens[i].text))
        return LEFT_PATRO_AFTER;
    if (first_aligned == SIZE_MAX - 1)
        return patronymic(nm, i) ? LEFT_PATRO : LEFT_COST;
    return patronymic(nm, i) ? LEFT_PATRO_AFTER : LEFT_AFTER;
}

static bool alignable(const huella_name_token *t)
{
    return t->role == HUELLA_NAME_WORD || t->role == HUELLA_NAME_INITIAL;
}

/* Ends s with suffix (and has at least two letters before it)? */
static bool ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx + 2 && strcmp(s + ls - lx, suffix) == 0;
}

/* A Latin name that is the romanisation of an Arabic one: it has the
 * article (al-, el-) or a nasab (bin, ibn, ould), or a theophoric
 * compound that only Arabic (and Muslim names from it) makes: Abd al-X
 * written in any of its forms (Abdul, Abdel, Abdur, Abd), X-ullah,
 * X-uddin / X-eddine, or Muhammad in any spelling of its group. */
static bool arabic_name(const huella_names *n, const huella_name *nm)
{
    if (strcmp(nm->script, "Latin") != 0)
        return false;
    if (has_article(nm) || has_nasab(nm))
        return true;
    for (size_t i = 0; i < nm->n_tokens; i++) {
        const char *t = nm->tokens[i].text;
        if (nm->tokens[i].role != HUELLA_NAME_WORD)
            continue;
        if ((strncmp(t, "abd", 3) == 0 && strlen(t) >= 5) || ends_with(t, "ullah") ||
            ends_with(t, "allah") || ends_with(t, "uddin") || ends_with(t, "eddine") ||
            strcmp(t, "abd") == 0 || huella_names_devotional(n, t))
            return true;
    }
    return false;
}

/* arabic: both names are Arabic (arabic_name), so that the short-vowel
 * skeleton is worth reading. */
static size_t collect(const huella_name *nm, bool arabic, item *items)
{
    size_t k = 0;
    for (size_t i = 0; i < nm->n_tokens; i++) {
        if (!alignable(&nm->tokens[i]))
            continue;
        item *it = &items[k++];
        memset(it, 0, sizeof(*it));
        strcpy(it->text, nm->tokens[i].text);
        strcpy(it->key, nm->tokens[i].key);
        huella_names_lax_key(it->text, it->lax, sizeof(it->lax));
        it->first = i;
        it->second = SIZE_MAX;
        it->initial = nm->tokens[i].role == HUELLA_NAME_INITIAL;
        it->abjad = strcmp(nm->script, "Arabic") == 0 || strcmp(nm->script, "Hebrew") == 0;
        it->kana = strcmp(nm->script, "Katakana") == 0 || strcmp(nm->script, "Hiragana") == 0;
        it->arabic = arabic;
        if (strstr(it->text, "ou") != NULL &&
            french_glide(it->text, it->glide, sizeof(it->glide))) {
            huella_names_phonetic_key(it->glide, it->glide_key, sizeof(it->glide_key));
            huella_names_lax_key(it->glide, it->glide_lax, sizeof(it->glide_lax));
        } else {
            it->glide[0] = '\0';
        }
        if (arabic)
            short_vowel_skeleton(it->text, it->vowelless, sizeof(it->vowelless));
    }
    return k;
}

/* Join tokens i and i+1 of x when together they are the other name's
 * single token and apart they are not. */
/* Does the run of tokens first..last of x, written as one, explain the
 * other name's single token y better than its last part alone?  Returns
 * the similarity, or 0. */
static double join_fits(const huella_names *n, const huella_name *xn, size_t first, size_t last,
                        bool abjad, const item *y, item *joined)
{
    memset(joined, 0, sizeof(*joined));
    /* Concatenate by hand: this runs for every pair of adjacent tokens
     * against every token of the other name, and screening calls it a
     * thousand times per query. */
    size_t len = 0;
    for (size_t k = first; k <= last; k++) {
        size_t tl = strlen(xn->tokens[k].text);
        if (len + tl >= sizeof(joined->text))
            tl = sizeof(joined->text) - 1 - len;
        memcpy(joined->text + len, xn->tokens[k].text, tl);
        len += tl;
    }
    joined->text[len] = '\0';
    huella_names_phonetic_key(joined->text, joined->key, sizeof(joined->key));
    huella_names_lax_key(joined->text, joined->lax, sizeof(joined->lax));
    joined->first = first;
    joined->second = last;
    joined->abjad = abjad;
    huella_name_match how;
    double s = token_similarity(n, joined, y, &how);
    /* Arabic sun letters assimilate the l of the article: Abdul Rahman is
     * also written Abdurrahman, Abdul Salam Abdussalam.  Try that form. */
    const char *t1 = xn->tokens[first].text;
    size_t l1 = strlen(t1);
    char c2 = xn->tokens[first + 1].text[0];
    if (last == first + 1 && l1 >= 3 && t1[l1 - 1] == 'l' && strchr("aeiou", t1[l1 - 2]) != NULL &&
        c2 != '\0' && strchr("tdrzsn", c2) != NULL) {
        item alt = *joined;
        alt.text[l1 - 1] = c2;
        huella_names_phonetic_key(alt.text, alt.key, sizeof(alt.key));
        huella_names_lax_key(alt.text, alt.lax, sizeof(alt.lax));
        huella_name_match how_alt;
        double s_alt = token_similarity(n, &alt, y, &how_alt);
        if (s_alt > s) {
            s = s_alt;
            how = how_alt;
            *joined = alt;
        }
    }
    /* The romanisation key joins too (Jeong Eun ~ Jongun), edits below
     * 0.9 do not (Muhammad al ~ Muhammad). */
    bool lax = how == HUELLA_MATCH_PHONETIC && s >= SIM_LAX;
    if ((s < 0.9 && !lax) ||
        (xn->tokens[first].role == HUELLA_NAME_INITIAL && how != HUELLA_MATCH_EXACT))
        return 0.0;
    /* F Kowalski is not one word for Kowalski. */
    item part;
    memset(&part, 0, sizeof(part));
    strcpy(part.text, xn->tokens[last].text);
    strcpy(part.key, xn->tokens[last].key);
    huella_names_lax_key(part.text, part.lax, sizeof(part.lax));
    part.abjad = abjad;
    return token_similarity(n, &part, y, &how) >= s ? 0.0 : s;
}

/* Join runs of two tokens (or three with a particle in the middle) of x
 * that together are one of y's single tokens and apart are not:
 * Abdul Rahman ~ Abdulrahman, Nur ud-Din ~ Nuruddin, O Connor ~ OConnor. */
static size_t join_adjacent(const huella_names *n, const huella_name *xn, item *x, size_t nx,
                            const item *y, size_t ny)
{
    bool abjad = nx > 0 && x[0].abjad;
    for (size_t i = 0; i + 1 < xn->n_tokens; i++) {
        const huella_name_token *t1 = &xn->tokens[i], *t2 = &xn->tokens[i + 1];
        if ((t2->role != HUELLA_NAME_WORD && t2->role != HUELLA_NAME_PARTICLE) ||
            t1->role == HUELLA_NAME_TITLE || t1->role == HUELLA_NAME_SUFFIX ||
            t1->role == HUELLA_NAME_CONJUNCTION)
            continue;
        size_t lasts[2];
        size_t n_lasts = 0;
        if (t2->role == HUELLA_NAME_PARTICLE && i + 2 < xn->n_tokens &&
            xn->tokens[i + 2].role == HUELLA_NAME_WORD)
            lasts[n_lasts++] = i + 2;
        lasts[n_lasts++] = i + 1;
        bool done = false;
        for (size_t l = 0; l < n_lasts && !done; l++)
            for (size_t j = 0; j < ny && !done; j++) {
                if (y[j].second != SIZE_MAX || y[j].initial)
                    continue;
                item joined;
                if (join_fits(n, xn, i, lasts[l], abjad, &y[j], &joined) <= 0)
                    continue;
                size_t w = 0;
                for (size_t k = 0; k < nx; k++)
                    if (x[k].first < i || x[k].first > lasts[l])
                        x[w++] = x[k];
                if (w == MAX_ITEMS)
                    return nx; /* no room: leave the tokens apart */
                x[w++] = joined;
                nx = w;
                i = lasts[l]; /* go on after the joined run */
                done = true;
            }
    }
    return nx;
}

typedef struct matrix {
    double s[MAX_ITEMS][MAX_ITEMS];
    huella_name_match how[MAX_ITEMS][MAX_ITEMS];
} matrix;

/* Optimal assignment: rows are the longer list, columns the shorter; best
 * total similarity with each column used at most once. */
static void assign(const matrix *m, size_t rows, size_t cols, bool swapped, int *col_of_row)
{
#define S(r, c) (swapped ? m->s[c][r] : m->s[r][c])
    for (size_t r = 0; r < rows; r++)
        col_of_row[r] = -1;
    if (cols <= DP_LIMIT) {
        size_t states = (size_t)1 << cols;
        double *dp = malloc((rows + 1) * states * sizeof(double));
        if (dp != NULL) {
            for (size_t i = 0; i < (rows + 1) * states; i++)
                dp[i] = -1.0;
            dp[0] = 0.0;
            for (size_t r = 0; r < rows; r++)
                for (size_t mask = 0; mask < states; mask++) {
                    double v = dp[r * states + mask];
                    if (v < 0)
                        continue;
                    double *skip = &dp[(r + 1) * states + mask];
                    if (v > *skip)
                        *skip = v;
                    for (size_t c = 0; c < cols; c++) {
                        if ((mask >> c) & 1 || S(r, c) <= 0)
                            continue;
                        double *take = &dp[(r + 1) * states + (mask | ((size_t)1 << c))];
                        if (v + S(r, c) > *take)
                            *take = v + S(r, c);
                    }
                }
            size_t best = 0;
            for (size_t mask = 0; mask < states; mask++)
                if (dp[rows * states + mask] > dp[rows * states + best])
                    best = mask;
            /* Walk back. */
            size_t mask = best;
            for (size_t r = rows; r-- > 0;) {
                double v = dp[(r + 1) * states + mask];
                if (fabs(dp[r * states + mask] - v) < 1e-12) {
                    continue;
                }
                for (size_t c = 0; c < cols; c++) {
                    if (!((mask >> c) & 1) || S(r, c) <= 0)
                        continue;
                    size_t prev = mask & ~((size_t)1 << c);
                    if (dp[r * states + prev] >= 0 &&
                        fabs(dp[r * states + prev] + S(r, c) - v) < 1e-12) {
                        col_of_row[r] = (int)c;
                        mask = prev;
                        break;
                    }
                }
            }
            free(dp);
            return;
        }
    }
    /* Greedy: best remaining pair first. */
    bool used_c[MAX_ITEMS] = {false};
    for (;;) {
        double best = 0;
        size_t br = 0, bc = 0;
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++)
                if (col_of_row[r] < 0 && !used_c[c] && S(r, c) > best) {
                    best = S(r, c);
                    br = r;
                    bc = c;
                }
        if (best <= 0)
            break;
        col_of_row[br] = (int)bc;
        used_c[bc] = true;
    }
#undef S
}

static huella_status compare_tokens(huella_names *n, huella_name_comparison *out,
                                    huella_error *err);

/* Lists often write several spellings of one person in one field,
 * separated by semicolons ("Abas Tavakoli; Abbas Tavakkoli"): each is a name
 * of its own.  Returns the number of alternatives (at most max), each a
 * NUL-terminated copy in buf. */
#define MAX_ALTERNATIVES 8
static size_t split_alternatives(const char *s, char *buf, size_t size, const char **alt,
                                 size_t max)
{
    size_t len = strlen(s);
    if (len + 1 > size || strchr(s, ';') == NULL) {
        alt[0] = s;
        return 1;
    }
    memcpy(buf, s, len + 1);
    size_t k = 0;
    char *save = NULL;
    for (char *p = strtok_r(buf, ";", &save); p != NULL && k < max;
         p = strtok_r(NULL, ";", &save)) {
        bool letter = false;
        for (const char *q = p; *q && !letter; q++)
            letter =
                (unsigned char)*q >= 0x80 || (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z');
        if (letter)
            alt[k++] = p;
    }
    if (k == 0) {
        alt[0] = s;
        return 1;
    }
    return k;
}

static huella_status compare_one(huella_names *n, const char *a, const char *b,
                                 huella_name_comparison *out, huella_error *err);

huella_status huella_names_compare(huella_names *n, const char *a, const char *b,
                                   huella_name_comparison *out, huella_error *err)
{
    const char *alt_a[MAX_ALTERNATIVES], *alt_b[MAX_ALTERNATIVES];
    size_t la = strlen(a) + 1, lb = strlen(b) + 1;
    char *buf = malloc(la + lb);
    if (buf == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    size_t na = split_alternatives(a, buf, la, alt_a, MAX_ALTERNATIVES);
    size_t nb = split_alternatives(b, buf + la, lb, alt_b, MAX_ALTERNATIVES);
    if (na == 1 && nb == 1) {
        free(buf);
        return compare_one(n, a, b, out, err);
    }
    /* The best pair of alternatives speaks for the two fields. */
    huella_name_comparison *tmp = malloc(sizeof(*tmp));
    if (tmp == NULL) {
        free(buf);
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    }
    huella_status st = HUELLA_OK;
    bool any = false;
    for (size_t i = 0; i < na && st == HUELLA_OK; i++)
        for (size_t j = 0; j < nb && st == HUELLA_OK; j++) {
            st = compare_one(n, alt_a[i], alt_b[j], tmp, err);
            if (st == HUELLA_E_INPUT && (na > 1 || nb > 1)) {
                st = HUELLA_OK; /* an empty or letterless alternative */
                continue;
            }
            if (st == HUELLA_OK && (!any || tmp->score > out->score)) {
                memcpy(out, tmp, sizeof(*out));
                any = true;
            }
        }
    if (st == HUELLA_OK && !any)
        st = compare_one(n, a, b, out, err);
    free(tmp);
    free(buf);
    return st;
}

static huella_status compare_one(huella_names *n, const char *a, const char *b,
                                 huella_name_comparison *out, huella_error *err)
{
    memset(out, 0, sizeof(*out));
    huella_status st = huella_names_normalize(n, a, &out->a, err);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "first name: ");
        return st;
    }
    st = huella_names_normalize(n, b, &out->b, err);
    if (st != HUELLA_OK) {
        huella_error_prefix(err, "second name: ");
        return st;
    }
    return compare_tokens(n, out, err);
}

huella_status huella_names_compare_normalized(huella_names *n, const huella_name *a,
                                              const huella_name *b, huella_name_comparison *out,
                                              huella_error *err)
{
    /* Only the results are reset: the two names are copied in whole. */
    out->score = 0;
    out->n_aligned = out->n_left_a = out->n_left_b = 0;
    if (a != &out->a)
        memcpy(&out->a, a, sizeof(*a));
    if (b != &out->b)
        memcpy(&out->b, b, sizeof(*b));
    return compare_tokens(n, out, err);
}

/* Align the tokens of out->a and out->b and score them. */
static huella_status compare_tokens(huella_names *n, huella_name_comparison *out, huella_error *err)
{
    item xa[MAX_ITEMS], xb[MAX_ITEMS];
    bool arabic = arabic_name(n, &out->a) && arabic_name(n, &out->b);
    size_t na = collect(&out->a, arabic, xa), nb = collect(&out->b, arabic, xb);
    unsigned char one_system = 0;
    if (strcmp(out->a.script, out->b.script) == 0 && strcmp(out->a.script, "Latin") != 0) {
        static const char *const syllabic[] = {"Han", "Hangul", "Hiragana", "Katakana", "Yi"};
        one_system = 1;
        for (size_t k = 0; k < sizeof(syllabic) / sizeof(syllabic[0]); k++)
            if (strcmp(out->a.script, syllabic[k]) == 0)
                one_system = 2;
    }
    for (size_t i = 0; i < na; i++)
        xa[i].one_system = one_system;
    for (size_t j = 0; j < nb; j++)
        xb[j].one_system = one_system;
    na = join_adjacent(n, &out->a, xa, na, xb, nb);
    nb = join_adjacent(n, &out->b, xb, nb, xa, na);
    if (na == 0 || nb == 0)
        return HUELLA_OK; /* nothing to align: score 0 */

    matrix *m = malloc(sizeof(*m));
    if (m == NULL)
        return huella_error_set(err, HUELLA_E_NOMEM, "out of memory");
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++) {
            huella_name_match how = HUELLA_MATCH_EDIT;
            double s = token_similarity(n, &xa[i], &xb[j], &how);
            if (xa[i].kana != xb[j].kana && !xa[i].initial && !xb[j].initial) {
                const item *kana = xa[i].kana ? &xa[i] : &xb[j];
                const item *other = xa[i].kana ? &xb[j] : &xa[i];
                bool fit = false;
                for (int onset = 0; onset < 2; onset++) {
                    item bare;
                    huella_name_match how_bare = HUELLA_MATCH_EDIT;
                    kana_bare(kana, onset == 1, &bare);
                    double sb = xa[i].kana ? token_similarity(n, &bare, other, &how_bare)
                                           : token_similarity(n, other, &bare, &how_bare);
                    if (how_bare == HUELLA_MATCH_EXACT) {
                        fit = true;
                        break;
                    }
                    if (sb > s) {
                        s = sb;
                        how = how_bare;
                    }
                }
                /* Equal once the conventions are undone: one name in two
                 * writing systems, as an Arabic spelling fits its Latin
                 * one; it beats any spelling edit. */
                if (fit && !(how == HUELLA_MATCH_EXACT || how == HUELLA_MATCH_EQUIVALENT ||
                             (how == HUELLA_MATCH_PHONETIC && s >= SIM_ABJAD))) {
                    how = HUELLA_MATCH_PHONETIC;
                    s = SIM_ABJAD;
                }
            }
            if (s > 0 && (xa[i].second != SIZE_MAX || xb[j].second != SIZE_MAX)) {
                how = HUELLA_MATCH_JOINED;
                s = s * SIM_JOINED;
            }
            m->s[i][j] = s;
            m->how[i][j] = how;
        }
    /* Arabic nasab: "Karim bin Yusuf" is Yusuf's son, "Yusuf
     * bin Karim" Karim's.  When both names spell out the chain, a token
     * is aligned only with one on the same side of a bin (father's names
     * with father's names). */
    if (has_nasab(&out->a) && has_nasab(&out->b))
        for (size_t i = 0; i < na; i++)
            for (size_t j = 0; j < nb; j++)
                if (xa[i].second == SIZE_MAX && xb[j].second == SIZE_MAX &&
                    after_nasab(&out->a, xa[i].first) != after_nasab(&out->b, xb[j].first))
                    m->s[i][j] = 0;
    bool swapped = na < nb;
    size_t rows = swapped ? nb : na, cols = swapped ? na : nb;
    int col_of_row[MAX_ITEMS];
    assign(m, rows, cols, swapped, col_of_row);

    bool used_a[MAX_ITEMS] = {false}, used_b[MAX_ITEMS] = {false};
    double sum = 0, weakest_edit = 1.0;
    bool weakest_soft = true;
    for (size_t r = 0; r < rows; r++) {
        if (col_of_row[r] < 0)
            continue;
        size_t i = swapped ? (size_t)col_of_row[r] : r, j = swapped ? r : (size_t)col_of_row[r];
        used_a[i] = used_b[j] = true;
        huella_name_alignment *al = &out->aligned[out->n_aligned++];
        al->a = xa[i].first;
        al->a2 = xa[i].second;
        al->b = xb[j].first;
        al->b2 = xb[j].second;
        al->similarity = m->s[i][j];
        al->how = m->how[i][j];
        sum += m->s[i][j];
        if (al->how == HUELLA_MATCH_EDIT && m->s[i][j] < weakest_edit) {
            weakest_edit = m->s[i][j];
            weakest_soft = soft_variant(xa[i].text, xb[j].text);
        }
    }
    free(m);
    /* Count in tokens, so that a joined pair weighs as one aligned unit
     * against one token but does not shrink the denominator. */
    size_t ta = 0, tb = 0, first_a = SIZE_MAX, first_b = SIZE_MAX;
    double left_a = 0, left_b = 0;
    for (size_t k = 0; k < out->n_aligned; k++) {
        if (out->aligned[k].a < first_a)
            first_a = out->aligned[k].a;
        if (out->aligned[k].b < first_b)
            first_b = out->aligned[k].b;
    }
    /* The lower cost of tokens left over after the first aligned one
     * holds only when the shorter name is aligned whole, with two units
     * at least: a one-word name, or one with a word of its own that meets
     * nothing, is not simply the longer name written shorter. */
    if (out->n_aligned < 2 || out->n_aligned < (na < nb ? na : nb))
        first_a = first_b = SIZE_MAX - 1;
    /* An Arabic name chain (own name, father's, grandfather's, and the
     * family or tribal name with its article: Khalid Mahmoud Salih
     * al-Jabouri)
     * aligned whole, three units at least: a name written in front of it
     * is a child's (Samira Khalid Mahmoud Salih al-Jabouri), another
     * person. */
    const huella_name *shorter_name = na < nb ? &out->a : &out->b;
    bool chain =
        out->n_aligned >= 3 && out->n_aligned == (na < nb ? na : nb) && has_article(shorter_name);
    /* A title and one name is a form of address (Mullah Karimdad, Sheikh
     * Abdirashid, Governor Tshilombo): the person is called by the one name
     * they are known by, and the other names of the full form are unsaid
     * rather than missing.  Only for a name that is not one of the common
     * given names of the equivalents table (Haji Muhammad, Sheikh Ali
     * name thousands), met exactly or as one sound. */
    bool address = false;
    if (out->n_aligned == 1 && (na == 1 || nb == 1) && na != nb) {
        const huella_name *sn = na == 1 ? &out->a : &out->b;
        const huella_name_alignment *al = &out->aligned[0];
        address = al->a2 == SIZE_MAX && al->b2 == SIZE_MAX &&
                  (al->how == HUELLA_MATCH_EXACT || al->how == HUELLA_MATCH_PHONETIC) &&
                  al->similarity >= SIM_PHON && huella_names_address_form(n, sn);
    }
    for (size_t i = 0; i < na; i++) {
        ta += 1;
        if (!used_a[i]) {
            left_a +=
                address ? LEFT_ADDRESS : leftover_cost(n, &out->a, xa[i].first, first_a, chain);
            out->left_a[out->n_left_a++] = xa[i].first;
            if (xa[i].second != SIZE_MAX)
                out->left_a[out->n_left_a++] = xa[i].second;
        }
    }
    for (size_t j = 0; j < nb; j++) {
        tb += 1;
        if (!used_b[j]) {
            left_b +=
                address ? LEFT_ADDRESS : leftover_cost(n, &out->b, xb[j].first, first_b, chain);
            out->left_b[out->n_left_b++] = xb[j].first;
            if (xb[j].second != SIZE_MAX)
                out->left_b[out->n_left_b++] = xb[j].second;
        }
    }
    size_t shorter = ta < tb ? ta : tb;
    double extra = ta < tb ? left_b : left_a;
    double denom = (double)shorter + extra;
    double score = sum / denom;
    /* The weakest edit-only pair decides whether this is a typo or another
     * person: scale by how far it is from certain. */
    if (weakest_edit < 1.0)
        score *= 1.0 - (weakest_soft ? SOFT_PENALTY : EDIT_PENALTY) * (1.0 - weakest_edit);
    if (score < 0)
        score = 0;
    if (score > 1)
        score = 1;
    out->score = score;
    return HUELLA_OK;
}
