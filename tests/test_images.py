"""Image I/O edge cases: modes, EXIF, transparency, bad files, sizes, atomic saves."""

import numpy as np
import pytest
from PIL import Image

from nst.errors import NSTError
from nst.io.images import expand_sources, list_images, load_image, save_image


def _save(img, path, **kw):
    img.save(path, **kw)
    return path


def test_rgb_roundtrip_and_range(tmp_path, rng):
    a = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    p = _save(Image.fromarray(a), tmp_path / "a.png")
    x = load_image(p)
    assert x.dtype == np.float32 and x.shape == (40, 50, 3)
    np.testing.assert_allclose(x, a / 255.0, atol=1e-6)


def test_grayscale_palette_cmyk_16bit(tmp_path):
    g = np.tile(np.arange(64, dtype=np.uint8)[None] * 4, (40, 1))
    x = load_image(_save(Image.fromarray(g, "L"), tmp_path / "g.png"))
    assert x.shape == (40, 64, 3) and np.allclose(x[..., 0], x[..., 2]) and np.isclose(x[0, 10, 1], 40 / 255)
    pal = Image.fromarray(np.full((40, 40, 3), (255, 0, 0), np.uint8)).convert("P")
    np.testing.assert_allclose(load_image(_save(pal, tmp_path / "p.png"))[5, 5], [1, 0, 0], atol=1e-6)
    cmyk = Image.new("CMYK", (40, 40), (0, 255, 255, 0))  # pure red in CMYK
    np.testing.assert_allclose(load_image(_save(cmyk, tmp_path / "c.jpg", quality=100))[5, 5], [1, 0, 0], atol=0.03)
    deep = Image.fromarray(np.full((40, 40), 65535 // 2, np.uint16))
    x16 = load_image(_save(deep, tmp_path / "d.png"))
    assert abs(float(x16[3, 3, 0]) - 0.5) < 0.01


def test_rgba_composited_on_white(tmp_path):
    a = np.zeros((40, 40, 4), np.uint8)
    a[..., 0] = 255  # red
    a[:, :20, 3] = 0  # left half fully transparent
    a[:, 20:, 3] = 255
    x = load_image(_save(Image.fromarray(a, "RGBA"), tmp_path / "t.png"))
    np.testing.assert_allclose(x[10, 5], [1, 1, 1], atol=1e-6)  # white where transparent
    np.testing.assert_allclose(x[10, 30], [1, 0, 0], atol=1e-6)


def test_exif_orientation_applied(tmp_path):
    a = np.zeros((40, 80, 3), np.uint8)  # wide image
    a[:, :10] = 255  # white stripe on the left
    img = Image.fromarray(a)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    p = tmp_path / "e.jpg"
    img.save(p, exif=exif, quality=100)
    x = load_image(p)
    assert x.shape == (80, 40, 3)  # now tall
    assert x[:10].mean() > 0.9 and x[-10:].mean() < 0.1  # left stripe is now on top


@pytest.mark.parametrize("content,match", [
    (None, "no such file"),
    (b"this is not an image", "not an image"),
    ("truncated", "truncated|unreadable"),
    ("tiny", "at least 32 px"),
])
def test_bad_files_name_the_file(tmp_path, content, match):
    p = tmp_path / "bad.png"
    if content == "truncated":
        full = tmp_path / "full.png"
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (100, 100, 3), dtype=np.uint8)).save(full)
        p.write_bytes(full.read_bytes()[:2000])
    elif content == "tiny":
        Image.new("RGB", (31, 100)).save(p)
    elif content is not None:
        p.write_bytes(content)
    with pytest.raises(NSTError, match=match) as e:
        load_image(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_size_and_max_size(tmp_path):
    p = _save(Image.new("RGB", (200, 100), (10, 20, 30)), tmp_path / "s.png")
    assert load_image(p, size=64).shape == (32, 64, 3)
    assert load_image(p, size=(50, 70)).shape == (50, 70, 3)
    assert load_image(p, max_size=100).shape == (50, 100, 3)
    assert load_image(p, max_size=1000).shape == (100, 200, 3)  # max_size never enlarges


def test_save_is_atomic_and_roundtrips(tmp_path, rng):
    x = rng.uniform(size=(33, 47, 3)).astype(np.float32)
    out = save_image(x, tmp_path / "sub" / "o.png")
    assert list(out.parent.iterdir()) == [out]
    np.testing.assert_allclose(load_image(out), np.round(x * 255) / 255, atol=1 / 255)
    with pytest.raises(NSTError, match="unknown output image format"):
        save_image(x, tmp_path / "o.xyz")
    assert not (tmp_path / "o.xyz").exists()


def test_folders(tmp_path):
    with pytest.raises(NSTError, match="no images"):
        list_images(tmp_path)
    with pytest.raises(NSTError, match="no such folder"):
        list_images(tmp_path / "missing")
    Image.new("RGB", (40, 40)).save(tmp_path / "b.png")
    Image.new("RGB", (40, 40)).save(tmp_path / "a.jpg")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in expand_sources(tmp_path)] == ["a.jpg", "b.png"]
