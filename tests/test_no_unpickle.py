"""Nothing a user hands otters is ever unpickled: a scan of the package source for every way to unpickle.

Allowed: the CIFAR reader's restricted unpickler (numpy arrays only, tested in test_vit_data) and
Hugging Face loads that go through the one guarded loader (safetensors only), and otters' own hub
class, whose ``from_pretrained`` reads a packed student (safetensors + JSON).
"""

import pickle
import re
from pathlib import Path

import pytest

from otters.errors import OttersError
from otters.models.hf_safe import load_sequence_classifier, require_safetensors

SRC = Path(__file__).resolve().parents[1] / "src" / "otters"

# (pattern, files allowed to contain it)
RULES = [
    (r"\btorch\.load\s*\(", ()),
    (r"\bpickle\.loads?\s*\(", ()),
    (r"\b(cPickle|dill|joblib|shelve|marshal)\b", ()),
    (r"allow_pickle\s*=\s*True", ()),
    (r"\bpickle\.Unpickler\b", ("vit/data.py",)),
    (r"\bAutoModel\w*\.from_pretrained\s*\(", ("models/hf_safe.py",)),
    # interop/hub.py: the model card's usage line names otters' own class, whose loader reads the
    # packed safetensors + JSON through the one student loader (tested in test_interop_hub).
    (r"\b\w+For\w+\.from_pretrained\s*\(", ("models/hf_safe.py", "interop/hub.py")),
    (r"\bload_state_dict_from_url\b|\btorch\.hub\b", ()),
]


def _code_lines(path: Path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        code = line.split("#", 1)[0]
        if code.strip() and not code.strip().startswith(('"', "'")):
            yield number, code


def test_no_source_file_unpickles_outside_the_guards():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        for number, code in _code_lines(path):
            for pattern, allowed in RULES:
                if re.search(pattern, code) and rel not in allowed:
                    offenders.append(f"{rel}:{number}: {code.strip()}")
    assert not offenders, "code that can unpickle a user's file:\n" + "\n".join(offenders)


def test_the_scan_finds_what_it_looks_for(tmp_path):
    """The patterns match the calls they are meant to catch (so an empty result means something)."""
    samples = ["x = torch.load(path)", "obj = pickle.load(fh)", "pickle.loads(data)", "np.load(p, allow_pickle=True)",
               "AutoModelForSequenceClassification.from_pretrained(d)", "BertForMaskedLM.from_pretrained(d)"]
    for sample in samples:
        assert any(re.search(pattern, sample) for pattern, _ in RULES), sample


def test_the_guarded_loader_refuses_a_pickle_only_folder(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    marker = tmp_path / "ran"

    class Payload:  # unpickling this would create the marker file
        def __reduce__(self):
            return (Path.touch, (marker,))

    (tmp_path / "pytorch_model.bin").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(OttersError, match="safetensors only.*safe_serialization=True"):
        load_sequence_classifier(tmp_path, num_labels=2)
    with pytest.raises(OttersError, match="pickle"):
        require_safetensors(tmp_path)
    assert not marker.exists()
