"""Leave-one-subject-out folds."""

import numpy as np

from mezoo.data.synthetic import SyntheticDataset
from mezoo.loso.folds import loso_folds


def test_no_subject_in_both_train_and_test():
    samples = SyntheticDataset(subjects=5, clips_per_subject=4, size=64).samples()
    groups = [s.group for s in samples]
    folds = loso_folds(groups)
    assert len(folds) == 5
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(len(samples)))  # every sample tested exactly once
    for fold in folds:
        test_groups = {groups[i] for i in fold.test}
        train_groups = {groups[i] for i in fold.train}
        assert test_groups == {fold.subject}
        assert fold.subject not in train_groups
        assert len(fold.train) + len(fold.test) == len(samples)


def test_same_subject_id_in_two_datasets_is_two_people():
    groups = ["casme2/01", "casme2/01", "samm/01", "samm/02"]
    folds = loso_folds(groups)
    assert [f.subject for f in folds] == ["casme2/01", "samm/01", "samm/02"]
    assert folds[0].slug == "casme2__01"
