"""Figure titles fit their cell, so neighbouring titles in an image grid do not overlap."""

from flowstyle.eval.figures import TITLE_CHARS, wrapped


def test_corpus_names_break_at_the_source_then_at_word_joints():
    assert wrapped("lomiri2004__Kleiber_by_Lukas_Baubkus") == "lomiri2004\nKleiber_by_Lukas_Baubkus"
    assert wrapped("tuxpaint-stamps__town-houses-cartoon-blacksmith") == "tuxpaint-stamps\ntown-houses-cartoon-\nblacksmith"


def test_every_line_fits_and_nothing_is_lost():
    for title in ("x" * 60, "desktop-base__desktop-base-emerald-theme-grub-grub-16x9", "a-" * 40, "short"):
        lines = wrapped(title).split("\n")
        assert all(len(line) <= TITLE_CHARS for line in lines)
        assert "".join(lines).replace(" ", "") == title.replace("__", "").replace(" ", "")


def test_short_titles_stay_as_they_are():
    assert wrapped("artflow-adaattn-1x16") == "artflow-adaattn-1x16"
    assert wrapped("content (no change)") == "content (no change)"
