"""Loader probes from the real releases: what their sheets and folders really hold, on generated trees."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from mezoo.settings import load_settings
from mezoo.data.casme2 import CASME2
from mezoo.data.casme3 import CASME3
from mezoo.data.megc2019 import MEGC2019
from mezoo.data.native import DatasetWarning
from mezoo.data.smic import SMIC
from mezoo.errors import ConfigError, DataError
from mezoo.data.faces import FaceReader
from mezoo.data.registry import make_dataset
from tests.data.native_trees import CASME3_ROWS, casme2_tree, casme3_tree, samm_tree, smic_tree


def quiet(load):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        return load()


def test_casme3_offset_zero_is_unknown_and_counted(tmp_path):
    # the real Part A sheet has two rows with Offset 0, both "others"
    rows = [*CASME3_ROWS, ("spNO.2", "c", 60, 63, 0, "others"), ("spNO.2", "d", 30, 34, 0, "others")]
    ds = CASME3(casme3_tree(tmp_path, rows), classes="7")
    with pytest.warns(DatasetWarning, match=r"2 row\(s\) .* have Offset 0, i\.e\. unknown"):
        samples = ds.samples()
    by_key = {s.key: s for s in samples}
    clip = by_key["casme3/spNO.2/c_60"]
    assert clip.offset == clip.apex == 3 and len(clip) == 4  # frames 60-63: it ends at the apex
    assert any("Offset 0" in n for n in ds.notes)


def test_zero_byte_frame_is_a_clear_error(tmp_path):
    root = casme2_tree(tmp_path, rows=[(1, "EP01_01", 2, 4, 6, "happiness")])
    onset = root / "CASME2_RAW_selected" / "sub01" / "EP01_01" / "img2.jpg"
    onset.write_bytes(b"")
    sample = quiet(CASME2(root).samples)[0]
    with pytest.raises(DataError, match=r"sample casme2/sub01/EP01_01: frame .*img2\.jpg is empty \(0 bytes\); "
                                        r".*--set dataset\.casme2\.exclude=\[sub01/EP01_01\]"):
        FaceReader(cache=False).read(sample, sample.onset)


def test_unreadable_clip_folder_is_a_clear_error(tmp_path, monkeypatch):
    root = casme2_tree(tmp_path, rows=[(1, "EP01_01", 2, 4, 6, "happiness")])
    blocked = root / "CASME2_RAW_selected" / "sub01" / "EP01_01"
    original = Path.iterdir

    def iterdir(self):
        if self == blocked:  # as a folder without read permission (tests may run as root)
            raise PermissionError(13, "Permission denied")
        return original(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    with pytest.raises(DataError, match=r"frame folder .*EP01_01 cannot be read \(Permission denied\)"):
        CASME2(root).samples()


def test_frames_missing_inside_a_clip_are_named(tmp_path):
    root = casme2_tree(tmp_path, rows=[(1, "EP01_01", 2, 5, 9, "happiness")])
    for n in (4, 7):
        (root / "CASME2_RAW_selected" / "sub01" / "EP01_01" / f"img{n}.jpg").unlink()
    ds = CASME2(root)
    with pytest.warns(DatasetWarning, match=r"sample casme2/sub01/EP01_01: 2 frame\(s\) missing between its onset "
                                            r"and offset \(4, 7\)"):
        [sample] = ds.samples()
    # frames 2, 3, 5, ...: the apex (5) comes two frames after the onset, 4 being gone
    assert sample.apex - sample.onset == 2 and sample.frames[sample.apex].name == "img5.jpg"


def megc_tree(root: Path) -> Path:
    casme2_tree(root / "CASME2")
    samm_tree(root / "SAMM")
    smic_tree(root / "SMIC")
    return root


def test_megc2019_advice_names_the_key_that_works(tmp_path):
    root = megc_tree(tmp_path)
    missing = root / "CASME2" / "CASME2_RAW_selected" / "sub01" / "EP02_01f"
    for f in missing.iterdir():
        f.unlink()
    missing.rmdir()
    with pytest.raises(DataError, match=r"--set dataset\.megc2019\.casme2\.exclude=\[sub01/EP02_01f\]"):
        quiet(MEGC2019(root).samples)
    # ... and that key works
    samples = quiet(MEGC2019(root, casme2={"exclude": ["sub01/EP02_01f"]}).samples)
    assert "casme2/sub01/EP02_01f" not in {s.key for s in samples}
    assert {s.settings for s in samples if s.dataset == "casme2"} == {"dataset.megc2019.casme2"}
    assert "dataset.megc2019.casme2.exclude=[" in samples[0].exclude_hint


def test_a_part_option_outside_the_composite_is_an_error_naming_the_right_key(tmp_path):
    settings = load_settings(overrides={"dataset": {"name": "megc2019", "root": str(megc_tree(tmp_path)),
                                                    "smic": {"apex_file": "apex.xlsx"}}})
    with pytest.raises(ConfigError, match=r"dataset\.smic\.apex_file is not read in a megc2019 run.*"
                                          r"set dataset\.megc2019\.smic\.apex_file instead"):
        make_dataset(settings.dataset)
    # the packaged defaults of the parts are no error
    fine = load_settings(overrides={"dataset": {"name": "megc2019", "root": str(tmp_path)}})
    assert isinstance(make_dataset(fine.dataset), MEGC2019)


def test_smic_apex_file_error_names_the_setting(tmp_path):
    root = smic_tree(tmp_path / "SMIC")
    with pytest.raises(DataError, match=r"the apex file .*nope\.xlsx does not exist; fix dataset\.smic\.apex_file"):
        SMIC(root, apex_file="nope.xlsx").samples()
    megc_tree(tmp_path)
    with pytest.raises(DataError, match=r"fix dataset\.megc2019\.smic\.apex_file"):
        quiet(MEGC2019(tmp_path, smic={"apex_file": "nope.xlsx"}).samples)
