"""The built-in models of the zoo (``mezoo zoo``): FRL-DGT and the baselines the field compares with.

Published numbers: MEGC2019 composite (full) UF1 / UAR, as the FRL-DGT paper's Table 1 lists them
(LBP-TOP, Bi-WOOF, STSTNet, FRL-DGT) or as Off-ApexNet's authors published them.
"""

from mezoo import hookimpl
from mezoo.zoo import ZooModel

NO_SPLIT = "not stated: the paper describes no validation split (epochs and settings may be chosen on the test subjects)"
FIXED = "fixed features and a linear SVM, no per-epoch choice (the MEGC2019 organisers' baseline)"

MODELS = {
    "frl_dgt": ZooModel(
        "FRL-DGT", {"displacement": {"name": "dgm"}, "fusion": {"name": "fu_b_attn"}, "regions": {"kind": "au9"}},
        "Zhai et al., CVPR 2023", {"uf1": 0.812, "uar": 0.811}, NO_SPLIT),
    "ststnet": ZooModel(
        "STSTNet", {"displacement": {"name": "optical_strain"}, "fusion": {"name": "ststnet"}},
        "Liong et al., FG 2019", {"uf1": 0.735, "uar": 0.761}, NO_SPLIT),
    "off_apexnet": ZooModel(
        "Off-ApexNet", {"displacement": {"name": "farneback"}, "fusion": {"name": "off_apexnet"}},
        "Gan et al., SPIC 2019", {"uf1": 0.720, "uar": 0.710}, NO_SPLIT),
    "lbp_top": ZooModel(
        "LBP-TOP + SVM", {"features": {"name": "lbp_top"}, "classifier": {"name": "linear_svm"}},
        "Zhao & Pietikainen, TPAMI 2007", {"uf1": 0.588, "uar": 0.579}, FIXED),
    "bi_woof": ZooModel(
        "Bi-WOOF + SVM", {"features": {"name": "bi_woof"}, "classifier": {"name": "linear_svm"},
                          "displacement": {"name": "farneback"}},
        "Liong et al., SPIC 2018", {"uf1": 0.630, "uar": 0.623}, FIXED),
}


@hookimpl
def register_models(register):
    for name, model in MODELS.items():
        register(model, name=name)
