/*
 * test_names_normalize.c - specification of src/names/normalize.c: scripts,
 * transliteration to Latin-ASCII, diacritics, particles, roles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "huella/names.h"

/* One comparator for the whole program, made and freed by the group. */
static huella_names *names;
static huella_name result;

static int setup(void **state)
{
    (void)state;
    huella_error err;
    return huella_names_new(NULL, &names, &err) == HUELLA_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    huella_names_free(names);
    return 0;
}

static huella_name *norm(const char *s)
{
    huella_error err;
    assert_int_equal(huella_names_normalize(names, s, &result, &err), HUELLA_OK);
    return &result;
}

static void cyrillic_is_romanised_with_bgn(void **state)
{
    (void)state;
    huella_name *nm = norm("Дмитрий Медведев");
    assert_string_equal(nm->script, "Cyrillic");
    assert_string_equal(nm->latin, "dmitriy medvedev");
}

static void cyrillic_single_letters_stay_initials(void **state)
{
    (void)state;
    huella_name *nm = norm("Ж. К. Роулинг");
    assert_int_equal(nm->n_tokens, 3);
    assert_int_equal(nm->tokens[0].role, HUELLA_NAME_INITIAL);
    assert_string_equal(nm->tokens[0].text, "z");
    assert_string_equal(nm->tokens[2].text, "rouling");
}

static void greek_is_romanised(void **state)
{
    (void)state;
    huella_name *nm = norm("Αλέξης Τσίπρας");
    assert_string_equal(nm->script, "Greek");
    assert_string_equal(nm->latin, "alexis tsipras");
}

static void han_becomes_pinyin_without_tones(void **state)
{
    (void)state;
    huella_name *nm = norm("毛泽东");
    assert_string_equal(nm->script, "Han");
    assert_string_equal(nm->latin, "mao ze dong");
}

static void arabic_becomes_latin_consonants(void **state)
{
    (void)state;
    huella_name *nm = norm("محمد");
    assert_string_equal(nm->script, "Arabic");
    assert_string_equal(nm->latin, "mhmd");
}

static void diacritics_are_removed_and_original_kept(void **state)
{
    (void)state;
    huella_name *nm = norm("Lech Wałęsa Søren Erdoğan");
    assert_string_equal(nm->latin, "lech walesa soren erdogan");
    assert_string_equal(nm->original, "Lech Wałęsa Søren Erdoğan");
}

static void particles_titles_and_initials_have_roles(void **state)
{
    (void)state;
    huella_name *nm = norm("Colonel Johann W. von Goethe");
    assert_int_equal(nm->n_tokens, 5);
    assert_int_equal(nm->tokens[0].role, HUELLA_NAME_TITLE);
    assert_int_equal(nm->tokens[1].role, HUELLA_NAME_WORD);
    assert_int_equal(nm->tokens[2].role, HUELLA_NAME_INITIAL);
    assert_int_equal(nm->tokens[3].role, HUELLA_NAME_PARTICLE);
    assert_int_equal(nm->tokens[4].role, HUELLA_NAME_WORD);
}

static void hispanic_two_surnames_with_conjunction(void **state)
{
    (void)state;
    huella_name *nm = norm("José María de la Cruz y García-Márquez");
    assert_int_equal(nm->n_tokens, 8);
    assert_string_equal(nm->tokens[6].text, "garcia");
    assert_true(nm->tokens[6].hyphenated);
    assert_string_equal(nm->tokens[7].text, "marquez");
    assert_int_equal(nm->tokens[5].role, HUELLA_NAME_CONJUNCTION);
    assert_int_equal(nm->tokens[2].role, HUELLA_NAME_PARTICLE);
}

static void a_particle_standing_last_is_a_word(void **state)
{
    (void)state;
    huella_name *nm = norm("Duc Tho Le");
    assert_int_equal(nm->tokens[2].role, HUELLA_NAME_WORD);
}

static void a_vowel_between_hyphens_is_a_connector(void **state)
{
    (void)state;
    /* Noor-u-Zaman: the Urdu connector, not an initial U... */
    huella_name *nm = norm("Noor-u-Zaman K. Baloch");
    assert_int_equal(nm->n_tokens, 5);
    assert_int_equal(nm->tokens[1].role, HUELLA_NAME_PARTICLE);
    assert_int_equal(nm->tokens[3].role, HUELLA_NAME_INITIAL);
    /* ... while a one-letter name standing free stays an initial. */
    nm = norm("Pang Chol U");
    assert_int_equal(nm->tokens[2].role, HUELLA_NAME_INITIAL);
}

static void invalid_utf8_is_rejected(void **state)
{
    (void)state;
    huella_names *n = NULL;
    huella_error err;
    huella_name *out = malloc(sizeof(*out));
    assert_int_equal(huella_names_new(NULL, &n, &err), HUELLA_OK);
    assert_int_equal(huella_names_normalize(n, "Jos\xc3", out, &err), HUELLA_E_INPUT);
    assert_non_null(strstr(err.message, "UTF-8"));
    huella_names_free(n);
    free(out);
}

static void missing_data_dir_names_the_file(void **state)
{
    (void)state;
    huella_names *n = NULL;
    huella_error err;
    assert_int_not_equal(huella_names_new("/nonexistent-dir", &n, &err), HUELLA_OK);
    assert_null(n);
    assert_non_null(strstr(err.message, "particles.tsv"));
    huella_names_free(NULL);
}

static void hangul_syllables_are_tokens(void **state)
{
    (void)state;
    /* Korean writes a name without spaces; romanised names are written
     * syllable by syllable (Kim Jeong Min), as Han is. */
    huella_name *nm = norm("김정민");
    assert_string_equal(nm->script, "Hangul");
    assert_int_equal(nm->n_tokens, 3);
    assert_string_equal(nm->tokens[0].text, "gim");
    assert_string_equal(nm->tokens[1].text, "jeong");
    assert_string_equal(nm->tokens[2].text, "min");
}

static void a_small_kana_vowel_replaces_the_syllables_vowel(void **state)
{
    (void)state;
    /* ヴェ is ve: ICU writes "vu~e", which would split Sven in two. */
    huella_name *nm = norm("スヴェン・ブラント");
    assert_string_equal(nm->script, "Katakana");
    assert_int_equal(nm->n_tokens, 2);
    assert_string_equal(nm->tokens[0].text, "suven");
    assert_string_equal(nm->tokens[1].text, "buranto");
}

static void mongolian_and_kazakh_cyrillic_letters_are_read(void **state)
{
    (void)state;
    /* ү and ө are not in the Russian transform: read as у and о, not
     * dropped (a name once came out as "kh r els kh"). */
    huella_name *nm = norm("Батбаярын Хүрэлбаатар");
    assert_string_equal(nm->script, "Cyrillic");
    assert_int_equal(nm->n_tokens, 2);
    assert_string_equal(nm->tokens[1].text, "khurelbaatar");
    nm = norm("Нұрсұлтан Әбішұлы");
    assert_int_equal(nm->n_tokens, 2);
    assert_string_equal(nm->tokens[0].text, "nursultan");
}

static void modifier_letters_and_middle_dots_do_not_split(void **state)
{
    (void)state;
    /* Ayn and hamza written as modifier letters, and the BGN/PCGN
     * middle dot, are inside a word. */
    huella_name *nm = norm("Ma\u02BFruf Ba\u02BCasyir Khür\u00B7elsükh");
    assert_int_equal(nm->n_tokens, 3);
    assert_string_equal(nm->tokens[0].text, "maruf");
    assert_string_equal(nm->tokens[1].text, "baasyir");
    assert_string_equal(nm->tokens[2].text, "khurelsukh");
    /* Urdu heh (ہ) is a letter of the word, not a break. */
    nm = norm("چوہدری");
    assert_int_equal(nm->n_tokens, 1);
}

static void digits_inside_words_are_read_as_letters(void **state)
{
    (void)state;
    /* OCR and hand typing put 0 for O, 1 for I, 5 for S, 8 for B. */
    huella_name *nm = norm("ANNA ER1K5SON");
    assert_string_equal(nm->tokens[1].text, "eriksson");
    nm = norm("Ig0r Sem1n");
    assert_string_equal(nm->tokens[0].text, "igor");
    assert_string_equal(nm->tokens[1].text, "semin");
    /* A number alone is left alone. */
    nm = norm("Louis 14");
    assert_string_equal(nm->tokens[1].text, "14");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cyrillic_is_romanised_with_bgn),
        cmocka_unit_test(cyrillic_single_letters_stay_initials),
        cmocka_unit_test(greek_is_romanised),
        cmocka_unit_test(han_becomes_pinyin_without_tones),
        cmocka_unit_test(arabic_becomes_latin_consonants),
        cmocka_unit_test(diacritics_are_removed_and_original_kept),
        cmocka_unit_test(particles_titles_and_initials_have_roles),
        cmocka_unit_test(a_vowel_between_hyphens_is_a_connector),
        cmocka_unit_test(hispanic_two_surnames_with_conjunction),
        cmocka_unit_test(a_particle_standing_last_is_a_word),
        cmocka_unit_test(invalid_utf8_is_rejected),
        cmocka_unit_test(missing_data_dir_names_the_file),
        cmocka_unit_test(hangul_syllables_are_tokens),
        cmocka_unit_test(mongolian_and_kazakh_cyrillic_letters_are_read),
        cmocka_unit_test(modifier_letters_and_middle_dots_do_not_split),
        cmocka_unit_test(digits_inside_words_are_read_as_letters),
        cmocka_unit_test(a_small_kana_vowel_replaces_the_syllables_vowel),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
