#!/usr/bin/python3
"""Calibration and test inputs for the real-model quantization suite (issue 15, tests/quant_real).

Every input comes from Debian-packaged data only: scikit-image's sample photos (skimage/data) and
its LFW subset (lfw_subset.npy: 100 faces, then 100 non-faces, 25x25 grey), matplotlib's sample
photos (mpl-data/sample_data), and text rendered here with PIL in DejaVu fonts (fonts-dejavu-core).
Calibration and test sets never share a source: different photos, different faces, different
strings. Each set is written as OUT/<model>/{cal,test}.npy, float32, shaped [N,1,C,H,W] (N samples
of the model's own NCHW input, as `ktc flow --layout nchw` and tools/real_models/ort_batch.js read
them), already normalised as the model expects.

usage: /usr/bin/python3 tools/real_models/make_inputs.py OUTDIR
"""
import os
import sys
import textwrap

import numpy as np
import matplotlib
import skimage
import skimage.io
import skimage.transform
from PIL import Image, ImageDraw, ImageFont

SKIMAGE = os.path.join(os.path.dirname(skimage.__file__), "data")
MPL = os.path.join(matplotlib.get_data_path(), "sample_data")
FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FONTS = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
         "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"]

# Photos: RGB (colour photos, grey ones replicated). The two lists share no photo (and no scene:
# motorcycle_left and motorcycle_right are one scene, so only the left is used).
CAL_PHOTOS = ["skimage:astronaut.png", "skimage:coffee.png", "skimage:rocket.jpg",
              "skimage:hubble_deep_field.jpg", "skimage:ihc.png", "skimage:camera.png",
              "skimage:grass.png", "skimage:brick.png", "skimage:moon.png"]
TEST_PHOTOS = ["skimage:chelsea.png", "mpl:grace_hopper.jpg", "skimage:motorcycle_left.png",
               "skimage:retina.jpg", "skimage:coins.png", "skimage:gravel.png",
               "skimage:clock_motion.png"]

# LFW subset: indices 0-99 are faces, 100-199 non-faces (skimage.data.lfw_subset).
CAL_FACES, TEST_FACES = range(0, 48), range(52, 100)
CAL_NONFACES, TEST_NONFACES = range(100, 148), range(152, 200)


def photo(ref):
    where, name = ref.split(":")
    im = skimage.io.imread(os.path.join(SKIMAGE if where == "skimage" else MPL, name))
    if im.ndim == 2:
        im = np.stack([im] * 3, axis=-1)
    return im[..., :3].astype(np.float32) / 255.0  # HWC RGB in [0,1]


def crops(refs, n, size, rng):
    """n square crops (side 35-100% of the photo's short side, random place, random mirror),
    resized to size x size, cycling through the photos: HWC RGB in [0,1]."""
    images = [photo(r) for r in refs]
    out = []
    for i in range(n):
        im = images[i % len(images)]
        h, w = im.shape[:2]
        side = int(min(h, w) * rng.uniform(0.35, 1.0))
        y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        c = im[y:y + side, x:x + side]
        if rng.random() < 0.5:
            c = c[:, ::-1]
        out.append(skimage.transform.resize(c, (size, size), anti_aliasing=True).astype(np.float32))
    return out


def lfw():
    return np.load(os.path.join(SKIMAGE, "lfw_subset.npy")).astype(np.float32)  # [200,25,25] in [0,1]


def stack(samples):
    """[N,1,C,H,W] float32 from a list of CHW arrays."""
    return np.stack(samples)[:, None].astype(np.float32)


def zen_lines():
    import codecs
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        import this  # prints the Zen when first imported; its text is this.s, in rot13
    return codecs.decode(this.s, "rot13").splitlines()[2:]


def doc_lines():
    docs = [str.__doc__, list.__doc__, dict.__doc__, len.__doc__, range.__doc__, zip.__doc__,
            sorted.__doc__, print.__doc__, open.__doc__]
    return [l for d in docs for l in d.splitlines()]


def phrases(lines, n, rng, width=(8, 22)):
    """n text snippets of 8-22 characters cut at word boundaries from lines (in order)."""
    words = " ".join(l.strip() for l in lines if l.strip()).split()
    out, i = [], 0
    while len(out) < n:
        target = int(rng.integers(width[0], width[1] + 1))
        s = words[i % len(words)]
        i += 1
        while len(s) < target:
            s += " " + words[i % len(words)]
            i += 1
        out.append(s[:width[1] + 6])
    return out


def font(rng, size):
    return ImageFont.truetype(os.path.join(FONT_DIR, FONTS[int(rng.integers(len(FONTS)))]), size)


def text_line(s, rng):
    """A text line rendered dark on light (random shades and a little noise): HWC RGB uint8."""
    f = font(rng, int(rng.integers(26, 36)))
    x0, y0, x1, y1 = f.getbbox(s)
    pad = int(rng.integers(3, 9))
    bg = tuple(int(v) for v in rng.integers(170, 256, 3))
    fg = tuple(int(v) for v in rng.integers(0, 90, 3))
    im = Image.new("RGB", (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad), bg)
    ImageDraw.Draw(im).text((pad - x0, pad - y0), s, font=f, fill=fg)
    a = np.asarray(im).astype(np.float32)
    a += rng.normal(0, 6, a.shape)
    return np.clip(a, 0, 255)


def cls_sample(s, rotate, rng):
    """PaddleOCR's text-direction classifier input: height 48, width up to 192 keeping the aspect
    ratio, right-padded with zeros after (x/255 - 0.5)/0.5 (its ClsResizeImg); CHW RGB."""
    a = text_line(s, rng)
    if rotate:
        a = a[::-1, ::-1]
    h, w = a.shape[:2]
    nw = min(192, int(np.ceil(48 * w / h)))
    r = skimage.transform.resize(a, (48, nw), anti_aliasing=True, preserve_range=True)
    out = np.zeros((3, 48, 192), np.float32)
    out[:, :, :nw] = (r.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    return out


def det_sample(background, strings, rng, size=160):
    """A 160x160 page: a photo crop (lightened) with a few text lines on it, PaddleOCR det's
    normalisation ((x/255 - mean)/std with ImageNet's mean/std, applied to BGR as PaddleOCR reads
    images with OpenCV); CHW BGR."""
    bg = (background * 0.5 + 0.5) * 255.0
    im = Image.fromarray(bg.astype(np.uint8))
    d = ImageDraw.Draw(im)
    y = int(rng.integers(2, 20))
    for s in strings:
        f = font(rng, int(rng.integers(11, 22)))
        fg = tuple(int(v) for v in rng.integers(0, 80, 3))
        d.text((int(rng.integers(0, 40)), y), s, font=f, fill=fg)
        y += f.size + int(rng.integers(4, 14))
        if y > size - 20:
            break
    a = np.asarray(im).astype(np.float32)[..., ::-1] / 255.0
    mean, std = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)
    return ((a - mean) / std).transpose(2, 0, 1)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    sets = {}

    # MobileNetV1 0.25/128 (TFLite): 128x128 RGB in [-1,1].
    rng = np.random.default_rng(1)
    for part, refs, n in (("cal", CAL_PHOTOS, 48), ("test", TEST_PHOTOS, 48)):
        sets[("mobilenet_v1", part)] = stack([c.transpose(2, 0, 1) * 2 - 1 for c in crops(refs, n, 128, rng)])

    # mini-Xception fer2013 (Keras): 64x64 grey faces, x/255*2-1 (the model's preprocess_input).
    faces = lfw()
    for part, idx in (("cal", CAL_FACES), ("test", TEST_FACES)):
        sets[("mini_xception", part)] = stack(
            [skimage.transform.resize(faces[i], (64, 64))[None] * 2 - 1 for i in idx])

    # MTCNN P/R/O-Net (Caffe): faces and non-faces, half each (96 samples per set: their logits are
    # two numbers a sample, so fewer would leave the SQNR to a few crops), 12/24/48 px,
    # (x*255-127.5)/128, RGB (grey replicated), height and width swapped as the original MTCNN
    # code feeds its nets.
    for net, size in (("mtcnn_pnet", 12), ("mtcnn_rnet", 24), ("mtcnn_onet", 48)):
        for part, idx in (("cal", list(CAL_FACES) + list(CAL_NONFACES)),
                          ("test", list(TEST_FACES) + list(TEST_NONFACES))):
            s = []
            for i in idx:
                g = skimage.transform.resize(faces[i], (size, size), anti_aliasing=True).T
                s.append(np.stack([(g * 255 - 127.5) / 128] * 3))
            sets[(net, part)] = stack(s)

    # PaddleOCR v2 text-direction classifier: rendered lines, every other one rotated 180 degrees.
    rng = np.random.default_rng(2)
    for part, lines, n in (("cal", zen_lines(), 48), ("test", doc_lines(), 48)):
        sets[("ppocr_cls", part)] = stack([cls_sample(s, k % 2 == 1, rng)
                                           for k, s in enumerate(phrases(lines, n, rng))])

    # PP-OCRv4 det at 3x160x160: text lines over lightened photo crops.
    rng = np.random.default_rng(3)
    for part, refs, lines, n in (("cal", CAL_PHOTOS, zen_lines(), 16),
                                 ("test", TEST_PHOTOS, doc_lines(), 16)):
        strings = phrases(lines, n * 8, rng, width=(6, 16))
        bgs = crops(refs, n, 160, rng)
        sets[("ppocr_det", part)] = stack([det_sample(bgs[k], strings[8 * k:8 * k + 8], rng)
                                           for k in range(n)])

    for (model, part), a in sets.items():
        os.makedirs(os.path.join(out, model), exist_ok=True)
        tmp = os.path.join(out, model, part + ".tmp.npy")
        np.save(tmp, a)
        os.replace(tmp, os.path.join(out, model, part + ".npy"))
        print(f"{model}/{part}.npy {list(a.shape)} range [{a.min():.3g}, {a.max():.3g}]")


if __name__ == "__main__":
    main()
