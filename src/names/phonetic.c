/*
 * phonetic.c - phonetic keys and edit similarity for name tokens.
 *
 * Contract: huella_names_phonetic_key maps a lower-case ASCII token to a
 * key of upper-case consonant classes so that spellings of one sound
 * meet; huella_names_jaro_winkler gives the Jaro-Winkler similarity
 * (Jaro 1989; Winkler 1990, prefix scale 0.1, at most 4 characters).
 *
 * The key is in the family of Soundex (Russell 1918) and Metaphone
 * (Philips 1990) but built for the spellings that transliterated and
 * Hispanic names actually show (RAE Ortografia 2010 on b/v, c/s/z seseo,
 * ll/y yeismo, silent h, j/g/x; English ph, ck, gh; romanisations of
 * Arabic kh/gh/dh/th and of Russian zh/kh/ch/sh/shch):
 *   - digraphs first: ph->F, ck/qu/q->K, sh/sch/ch/tch->X, zh/j->J,
 *     kh->K, gh->G, th->T, dh->D, ll->Y;
 *   - c before e/i/y->S else K; z->S; v/w->B; g before e/i->J; x at the
 *     start->J (Xavier/Javier, Ximena/Jimena), elsewhere KS;
 *   - h dropped (silent in Spanish; an aspiration lost by most
 *     romanisations), except in a final nh, a Vietnamese final of its
 *     own (Thanh is not Than); gu before e/i is G (Guillermo);
 *   - vowels kept as three classes, A (a), I (e, i, y) and U (o, u), a run
 *     of vowels written as one class (I if it holds e, i or y: ei, ai,
 *     ay; else its first letter's: ou, au): vowels separate
 *     different names too often to be dropped (Maria/Mario, Ali/Ala,
 *     Husayn/Hassan), while e/i and o/u are the usual romanisation
 *     wobble (Mohamed/Mohamad differ in a, so those come from the
 *     equivalents table instead);
 *   - doubled classes collapse.
 * Abjad scripts (Arabic, Hebrew) write no short vowels: compare.c strips
 * vowels and weak letters before taking the key of such tokens.
 * It is deliberately coarse: it is one signal among several and never
 * decides alone.
 */
#include "huella/names.h"
#include "names_internal.h"

#include <string.h>

static bool vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

void huella_names_phonetic_key(const char *s, char *key, size_t key_size)
{
    if (key_size == 0)
        return;
    size_t n = strlen(s), o = 0;
    char last = 0;
    for (size_t i = 0; i < n;) {
        char c = s[i], next = i + 1 < n ? s[i + 1] : 0, next2 = i + 2 < n ? s[i + 2] : 0;
        char k = 0;
        size_t step = 1;
        if (c >= '0' && c <= '9') {
            k = c;
        } else if (c == 'y' && next != 0 && vowel(next) && next != 'y') {
            k = 'Y'; /* a consonant before a vowel: Yusuf, Maya */
        } else if (vowel(c)) {
            /* A run of vowels is one sound: I when it has e, i or y in it
             * (ei, ai, ay, ey, ee are one diphthong in most spellings:
             * Suleiman/Sulayman), else the class of its first letter. */
            size_t end = i;
            bool front = false;
            while (end < n && vowel(s[end]) &&
                   !(s[end] == 'y' && end > i && end + 1 < n && vowel(s[end + 1]))) {
                front |= s[end] == 'e' || s[end] == 'i' || s[end] == 'y';
                end++;
            }
            k = front ? 'I' : c == 'a' ? 'A' : 'U';
            step = end - i;
        } else {
            switch (c) {
            case 'p':
                k = next == 'h' ? 'F' : 'P';
                step = next == 'h' ? 2 : 1;
                break;
            case 'c':
                if (next == 'k' || next == 'q') {
                    k = 'K';
                    step = 2;
                } else if (next == 'h') {
                    k = 'X';
                    step = 2;
                } else
                    k = (next == 'e' || next == 'i' || next == 'y') ? 'S' : 'K';
                break;
            case 'q':
                k = 'K';
                step = next == 'u' ? 2 : 1;
                break;
            case 's':
                if (next == 'h') {
                    k = 'X';
                    step = 2;
                } else if (next == 'c' && next2 == 'h') {
                    k = 'X';
                    step = 3;
                } else
                    k = 'S';
                break;
            case 't':
                if (next == 'c' && next2 == 'h') {
                    k = 'X';
                    step = 3;
                } else if (next == 'h') {
                    k = 'T';
                    step = 2;
                } else if (next == 'x') {
                    k = 'X'; /* Basque tx is Spanish ch */
                    step = 2;
                } else if (next == 's' && next2 == 'h') {
                    k = 'X';
                    step = 3;
                } else
                    k = 'T';
                break;
            case 'z':
                if (next == 'h') {
                    k = 'J';
                    step = 2;
                } else
                    k = 'S';
                break;
            case 'j':
                k = 'J';
                break;
            case 'k':
                k = 'K';
                step = next == 'h' ? 2 : 1;
                break;
            case 'g':
                if (next == 'h') {
                    k = 'G';
                    step = 2;
                } else if (next == 'u' && (next2 == 'e' || next2 == 'i')) {
                    k = 'G';
                    step = 2;
                } else
                    k = (next == 'e' || next == 'i') ? 'J' : 'G';
                break;
            case 'd':
                if (next == 'j') {
                    /* French romanisation writes the sound of English j
                     * "dj" (Djamel, Djibril), BGN/PCGN Russian "dzh"
                     * (Dzhamal): one sound, one class. */
                    k = 'J';
                    step = 2;
                } else if (next == 'z' && next2 == 'h') {
                    k = 'J';
                    step = 3;
                } else {
                    k = 'D';
                    step = next == 'h' ? 2 : 1;
                }
                break;
            case 'l':
                if (next == 'l') {
                    k = 'Y'; /* yeismo: ll sounds as y */
                    step = 2;
                } else
                    k = 'L';
                break;
            case 'x':
                if (i == 0)
                    k = 'J';
                else {
                    if (o + 1 < key_size && last != 'K')
                        key[o++] = 'K';
                    k = 'S';
                }
                break;
            case 'v':
            case 'w':
            case 'b':
                k = 'B';
                break;
            case 'h':
                /* Vietnamese final -nh is not -n (Thanh, Than). */
                k = huella_names_final_nh(s, i) ? 'Q' : 0;
                break;
            case 'f':
                k = 'F';
                break;
            default:
                k = (char)(c - 'a' + 'A');
                break;
            }
        }
        if (k != 0 && k != last && o + 1 < key_size)
            key[o++] = k;
        if (k != 0)
            last = k;
        i += step;
    }
    key[o] = '\0';
}

double huella_names_jaro_winkler(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la == 0 && lb == 0)
        return 1.0;
    if (la == 0 || lb == 0)
        return 0.0;
    if (la > 64)
        la = 64;
    if (lb > 64)
        lb = 64;
    size_t window = (la > lb ? la : lb) / 2;
    window = window > 0 ? window - 1 : 0;
    bool ma[64] = {false}, mb[64] = {false};
    size_t matches = 0;
    for (size_t i = 0; i < la; i++) {
        size_t lo = i > window ? i - window : 0, hi = i + window + 1 < lb ? i + window + 1 : lb;
        for (size_t j = lo; j < hi; j++)
            if (!mb[j] && a[i] == b[j]) {
                ma[i] = mb[j] = true;
                matches++;
                break;
            }
    }
    if (matches == 0)
        return 0.0;
    size_t t = 0, j = 0;
    for (size_t i = 0; i < la; i++) {
        if (!ma[i])
            continue;
        while (!mb[j])
            j++;
        if (a[i] != b[j])
            t++;
        j++;
    }
    double m = (double)matches;
    double jaro = (m / (double)la + m / (double)lb + (m - (double)t / 2.0) / m) / 3.0;
    size_t prefix = 0;
    while (prefix < 4 && prefix < la && prefix < lb && a[prefix] == b[prefix])
        prefix++;
    return jaro + (double)prefix * 0.1 * (1.0 - jaro);
}
