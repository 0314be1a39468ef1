"""The real dataset loaders on generated trees in each native layout."""

from __future__ import annotations

import warnings

import pytest
from click.testing import CliRunner

from mezoo import plugins
from mezoo.cli import cli
from mezoo.data.casme2 import CASME2
from mezoo.data.casme3 import CASME3
from mezoo.data.megc2019 import MEGC2019, count_differences
from mezoo.data.native import DatasetWarning, frame_number, read_table
from mezoo.data.samm import SAMM
from mezoo.data.smic import SMIC
from mezoo.errors import DataError
from tests.data.native_trees import (
    CASME2_HEADER, casme2_tree, casme3_tree, samm_tree, smic_tree, write_frames, write_xlsx,
)


def by_key(samples):
    return {s.key: s for s in samples}


# -- CASME II -----------------------------------------------------------------------------------

def test_casme2_five_classes(tmp_path):
    with pytest.warns(DatasetWarning, match="1 clip.*no apex.*sub02/EP08_04"):
        samples = CASME2(casme2_tree(tmp_path)).samples()
    # fear and sadness are not in the 5-class setting
    assert [s.key for s in samples] == ["casme2/sub01/EP02_01f", "casme2/sub01/EP03_02", "casme2/sub01/EP19_05f",
                                        "casme2/sub02/EP08_04", "casme2/sub02/EP11_01", "casme2/sub03/EP06_01f"]
    s = by_key(samples)["casme2/sub01/EP02_01f"]
    assert (s.label, s.emotion, s.group) == ("happiness", "happiness", "casme2/sub01")
    # frames start 3 before the onset: img43 ... img89
    assert s.frames[0].name == "img43.jpg" and s.frames[-1].name == "img89.jpg"
    assert s.frames[s.onset].name == "img46.jpg"
    assert s.frames[s.apex].name == "img59.jpg"
    assert s.frames[s.offset].name == "img86.jpg"
    assert s.frames[0].parent == tmp_path / "CASME2_RAW_selected" / "sub01" / "EP02_01f"
    # the missing apex ("/") falls back to the middle frame between onset 21 and offset 41
    missing = by_key(samples)["casme2/sub02/EP08_04"]
    assert missing.frames[missing.apex].name == "img31.jpg"


def test_casme2_class_settings(tmp_path):
    casme2_tree(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        three = CASME2(tmp_path, classes="3").samples()
        four = CASME2(tmp_path, classes=4).samples()
    assert [s.label for s in three] == ["positive", "negative", "negative", "surprise", "negative"]
    assert CASME2(tmp_path, classes="3").classes == ("negative", "positive", "surprise")
    assert {s.episode: s.label for s in four}["EP01_12"] == "negative"  # fear
    assert {s.episode: s.label for s in four}["EP15_01"] == "negative"  # sadness
    assert len(four) == 8
    with pytest.raises(DataError, match="unknown class setting '6'"):
        CASME2(tmp_path, classes=6)


def test_casme2_cropped_and_dated_versions(tmp_path):
    casme2_tree(tmp_path, rows=[(1, "EP02_01f", 46, 59, 86, "happiness")], cropped=True,
                coding="CASME2-coding-20120101.xlsx")
    casme2_tree(tmp_path / "tmp", rows=[(1, "EP02_01f", 46, 59, 86, "surprise")], cropped=True,
                coding="CASME2-coding-20140508.xlsx")
    (tmp_path / "tmp" / "CASME2-coding-20140508.xlsx").rename(tmp_path / "CASME2-coding-20140508.xlsx")
    with pytest.warns(DatasetWarning, match="newest, CASME2-coding-20140508.xlsx"):
        (s,) = CASME2(tmp_path).samples()
    assert s.label == "surprise"  # from the newer file
    assert s.frames[s.apex].name == "reg_img59.jpg"
    assert "Cropped" in s.frames[0].parts


def test_casme2_bad_input_names_file_and_sample(tmp_path):
    with pytest.raises(DataError, match="needs its folder"):
        CASME2().samples()
    with pytest.raises(DataError, match=r"no CASME2-coding-\*.xlsx"):
        CASME2(tmp_path).samples()
    # onset after apex
    casme2_tree(tmp_path / "a", rows=[(1, "EP02_01f", 60, 50, 86, "happiness")])
    with pytest.raises(DataError, match=r"sample casme2/sub01/EP02_01f: onset frame 60 comes after apex frame 50"):
        CASME2(tmp_path / "a").samples()
    # an annotated frame without a file
    casme2_tree(tmp_path / "b", rows=[(1, "EP02_01f", 46, 59, 86, "happiness")])
    (tmp_path / "b" / "CASME2_RAW_selected" / "sub01" / "EP02_01f" / "img59.jpg").unlink()
    with pytest.raises(DataError, match=r"sample casme2/sub01/EP02_01f: apex frame 59 .*has no file in"):
        CASME2(tmp_path / "b").samples()
    # a missing clip folder
    casme2_tree(tmp_path / "c", rows=[(1, "EP02_01f", 46, 59, 86, "happiness"), (1, "EP09_01", 1, 5, 9, "others")])
    import shutil

    shutil.rmtree(tmp_path / "c" / "CASME2_RAW_selected" / "sub01" / "EP09_01")
    with pytest.raises(DataError, match=r"sample casme2/sub01/EP09_01: frame folder .*EP09_01 does not exist.*"
                                        r"exclude=\[sub01/EP09_01\]"):
        CASME2(tmp_path / "c").samples()
    # and excluding it works
    assert len(CASME2(tmp_path / "c", exclude=["sub01/EP09_01"]).samples()) == 1


def test_spreadsheet_with_other_columns(tmp_path):
    casme2_tree(tmp_path, rows=[(1, "EP02_01f", 46, 59, 86, "happiness")])
    write_xlsx(tmp_path / "CASME2-coding-20140508.xlsx", ["Subject", "Clip", "Start", "Peak", "End", "Emotion"],
               [(1, "EP02_01f", 46, 59, 86, "happiness")])
    with pytest.raises(DataError, match=r"(?s)casme2: no header row in .*CASME2-coding-20140508.xlsx has all the "
                                        r"columns.*lacks: filename \(one of 'Filename'.*First rows found"):
        CASME2(tmp_path).samples()


def test_read_table_finds_header_below_preamble_and_in_csv(tmp_path):
    path = write_xlsx(tmp_path / "t.xlsx", ["Subject", "Onset Frame"], [("006", 5)], [["title"], [None], ["notes"]])
    assert read_table(path, {"subject": ("Subject",), "onset": ("OnsetFrame",)}, "x") == [{"subject": "006",
                                                                                            "onset": 5}]
    csv = tmp_path / "t.csv"
    csv.write_text("clip,apex_frame\ns1_ne_01,106600\n")
    assert read_table(csv, {"clip": ("clip",), "apex": ("Apex Frame",)}, "x") == [{"clip": "s1_ne_01",
                                                                                   "apex": "106600"}]


def test_frame_number():
    assert [frame_number(p) for p in ("img46.jpg", "reg_img46.jpg", "006_05562.jpg", "image106597.bmp", "a.jpg")] == \
        [46, 46, 5562, 106597, None]


# -- SAMM ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("preamble", [True, False])
def test_samm(tmp_path, preamble):
    samm_tree(tmp_path, preamble=preamble, int_subjects=not preamble)
    with pytest.warns(DatasetWarning, match="1 clip.*no apex.*007/007_5_2"):
        five = SAMM(tmp_path).samples()
    assert [s.key for s in five] == ["samm/006/006_1_2", "samm/006/006_1_3", "samm/007/007_3_1", "samm/007/007_5_2",
                                     "samm/011/011_2_1"]
    s = five[0]
    assert (s.subject, s.label) == ("006", "anger")
    assert s.frames[s.onset].name == "006_05562.jpg" and s.frames[s.apex].name == "006_05588.jpg"
    assert s.frames[s.offset].name == "006_05604.jpg"
    assert s.frames[0].parent == tmp_path / "SAMM" / "006" / "006_1_2"
    no_apex = five[3]
    assert no_apex.frames[no_apex.apex].name == "007_00115.jpg"  # middle of 101 and 130
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        three = SAMM(tmp_path, classes="3").samples()
    assert [s.label for s in three] == ["negative", "positive", "negative", "surprise", "negative"]


# -- SMIC ---------------------------------------------------------------------------------------

def test_smic_middle_frame(tmp_path):
    samples = SMIC(smic_tree(tmp_path)).samples()
    assert [s.key for s in samples] == ["smic/s1/s1_ne_01", "smic/s1/s1_po_01", "smic/s2/s2_ne_03",
                                        "smic/s2/s2_sur_01", "smic/s11/s11_po_02"]
    s = samples[0]
    assert (s.label, s.onset, s.offset, s.apex) == ("negative", 0, 10, 5)
    assert s.frames[0].name == "image106597.bmp"
    assert SMIC(tmp_path).classes == ("negative", "positive", "surprise")


def test_smic_apex_file(tmp_path):
    smic_tree(tmp_path)
    (tmp_path / "apex.csv").write_text("subject,clip,label,onset_frame,apex_frame,offset_frame\n"
                                       "s1,s1_ne_01,negative,106598,106600,106606\n"
                                       "s2,s2_sur_01,surprise,5001,5005,5007\n")
    with pytest.warns(DatasetWarning, match="3 clip.*not in apex.csv"):
        samples = by_key(SMIC(tmp_path, apex_file="apex.csv").samples())
    s = samples["smic/s1/s1_ne_01"]
    assert s.frames[s.onset].name == "image106598.bmp"
    assert s.frames[s.apex].name == "image106600.bmp"
    assert s.frames[s.offset].name == "image106606.bmp"
    assert samples["smic/s2/s2_sur_01"].apex == 4
    assert samples["smic/s2/s2_ne_03"].apex == 6  # not in the file: the middle frame
    # 1-based positions instead of file numbers
    (tmp_path / "pos.csv").write_text("clip,apex_frame\ns1_po_01,3\n")
    with pytest.warns(DatasetWarning):
        s = by_key(SMIC(tmp_path, apex_file=tmp_path / "pos.csv", apex_numbers="position").samples())["smic/s1/s1_po_01"]
    assert s.apex == 2
    # a file number that is no frame
    (tmp_path / "bad.csv").write_text("clip,apex_frame\ns1_po_01,3\n")
    with pytest.raises(DataError, match=r"sample smic/s1/s1_po_01: apex frame 3 .*bad.csv.*numbered 200010-200018"):
        SMIC(tmp_path, apex_file="bad.csv").samples()


def test_register_apex_spotters_hook(tmp_path):
    """A plugin's apex spotter is used for SMIC; the built-in max_difference finds the peak frame."""
    from mezoo import hookimpl
    from tests.conftest import registered

    def peak(number):
        import numpy as np

        value = 200 if number == 5004 else 0  # s2_sur_01 runs 5001-5007: its peak is at index 3
        return np.full((16, 16, 3), value, dtype=np.uint8)

    smic_tree(tmp_path, clips=[("s2", "surprise", "s2_sur_01", 5001, 7)], frame=peak)
    (s,) = SMIC(tmp_path, apex="max_difference").samples()
    assert s.apex == 3
    assert SMIC(tmp_path, apex="max_difference", exclude=["s2/s2_sur_01"]).samples() == []  # not spotted

    class Spotter:
        @hookimpl
        def register_apex_spotters(self, register):
            register(lambda sample: sample.offset - 1, name="second_last")

    with registered(Spotter(), "spotter-plugin"):
        assert "second_last" in plugins.names("apex_spotter")
        (s,) = SMIC(tmp_path, apex="second_last").samples()
    assert s.apex == 5
    with pytest.raises(KeyError, match="second_last"):
        SMIC(tmp_path, apex="second_last").samples()


# -- CAS(ME)^3 ----------------------------------------------------------------------------------

def test_casme3(tmp_path):
    samples = CASME3(casme3_tree(tmp_path)).samples()
    assert [s.key for s in samples] == ["casme3/spNO.1/a_20", "casme3/spNO.1/a_60", "casme3/spNO.2/c_40",
                                        "casme3/spNO.2/d_11"]
    s = samples[0]
    # only the onset-to-offset frames of the whole video are kept
    assert len(s) == 12 and (s.onset, s.apex, s.offset) == (0, 5, 11)
    assert s.frames[0].name == "20.jpg" and s.frames[s.apex].name == "25.jpg"
    assert s.frames[0].parent.name == "color"
    assert [x.label for x in samples] == ["positive", "negative", "surprise", "negative"]
    assert len(CASME3(tmp_path, classes="7").samples()) == 5


# -- MEGC2019 -----------------------------------------------------------------------------------

def megc_tree(root):
    casme2_tree(root / "CASME2")
    samm_tree(root / "SAMM")
    smic_tree(root / "SMIC")
    return root


def test_megc2019_composite(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        ds = MEGC2019(megc_tree(tmp_path))
        samples = ds.samples()
    assert ds.classes == ("negative", "positive", "surprise")
    parts = [s.dataset for s in samples]
    assert parts.count("casme2") == 5 and parts.count("samm") == 5 and parts.count("smic") == 5
    # CASME II fear/sadness/others and SAMM "Other" are dropped; SAMM disgust is negative
    assert {s.emotion for s in samples if s.dataset == "casme2"} == {"happiness", "disgust", "repression", "surprise"}
    assert {s.key: s.label for s in samples}["samm/011/011_4_2"] == "negative"
    assert len({s.group for s in samples}) == 3 + 3 + 3
    # explicit exclusions, by part/subject/episode
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        fewer = MEGC2019(tmp_path, exclude=["casme2/sub01/EP19_05f"]).samples()
    assert len(fewer) == 14 and "casme2/sub01/EP19_05f" not in {s.key for s in fewer}
    differences = count_differences(samples)
    assert "casme2: 5 samples / 3 subjects, MEGC2019 has 145 / 24" in differences
    assert "smic: 2 positive samples, MEGC2019 has 51" in differences


def test_megc2019_part_roots_and_missing_part(tmp_path):
    casme2_tree(tmp_path / "elsewhere")
    with pytest.raises(DataError, match=r"megc2019: no samm folder in .* \(looked for SAMM\)"), \
            pytest.warns(DatasetWarning, match="no apex"):
        MEGC2019(tmp_path, casme2={"root": str(tmp_path / "elsewhere")}).samples()
    samm_tree(tmp_path / "SAMM")
    smic_tree(tmp_path / "SMIC-HS")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        samples = MEGC2019(tmp_path, casme2={"root": str(tmp_path / "elsewhere")}).samples()
    assert len(samples) == 15


def test_datasets_info_command(tmp_path):
    megc_tree(tmp_path)
    result = CliRunner().invoke(cli, ["datasets", "info", "--dataset", "megc2019", "--data-root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "| part | samples | subjects | negative | positive | surprise |" in out
    assert "| casme2 | 5 | 3 | 3 | 1 | 1 |" in out  # disgust + repression, happiness, surprise
    assert "| all | 15 | 9 | " in out
    assert "Warning: casme2: 5 samples / 3 subjects, MEGC2019 has 145 / 24" in out
    assert "Note: casme2: 1 clip(s) have no apex" in out
    bad = CliRunner().invoke(cli, ["datasets", "info", "--dataset", "casme2", "--data-root", str(tmp_path / "no")])
    assert bad.exit_code != 0 and "Error: casme2: data root" in bad.output


def test_dataset_root_from_config(tmp_path):
    casme2_tree(tmp_path)
    result = CliRunner().invoke(cli, ["datasets", "info", "--dataset", "casme2",
                                      "--set", f"dataset.casme2.root={tmp_path}", "--json"])
    assert result.exit_code == 0, result.output
    assert '"samples": 6' in result.output


def test_unknown_columns_in_real_layout_message_lists_what_was_found(tmp_path):
    write_xlsx(tmp_path / "CASME2-coding-20140508.xlsx", ["Sub", *CASME2_HEADER[1:]], [])
    write_frames(tmp_path / "CASME2_RAW_selected" / "sub01" / "EP01", [1, 2], lambda n: f"img{n}.jpg")
    with pytest.raises(DataError, match=r"(?s)the closest, Sheet row 1, lacks: subject \(one of 'Subject'\)\)"
                                        r".*First rows found:.*'Sub', 'Filename'"):
        CASME2(tmp_path).samples()
