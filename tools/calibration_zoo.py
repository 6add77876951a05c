#!/usr/bin/python3
"""Export the models of the seed manual's performance tables to ONNX, for the cost model.

    /usr/bin/python3 tools/calibration_zoo.py [--out DIR] [--models a,b,...] [--force] [--list]

The performance tables of the seed manual (and ../shared/reference/perf-calibration.csv) time
twelve models on KDP520 and KDP720. This script rebuilds each one from its published architecture
with random weights (torch.manual_seed(0); only the shapes matter to the cost model) at the listed
input size, batch 1, and exports it with torch.onnx.export(opset_version=11,
do_constant_folding=True) in eval mode, so BatchNorm is folded into the preceding Conv by the
exporter where it can be (ktc's onnx2onnx_flow fuses what is left).

    name               input      source
    inception_v3       224        torchvision inception_v3 (aux_logits=False)
    inception_v4       299        Szegedy et al. 2016, Figures 3-9 (stem, 4xA, RA, 7xB, RB, 3xC)
    mobilenet_v1       224        Howard et al. 2017, Table 1 (width 1.0, ReLU6)
    mobilenet_v2       224        torchvision mobilenet_v2
    mobilenet_v2_ssdlite 300      MobileNetV2 backbone + SSDLite extras and heads (Sandler et al.
                                  2018, section 6.2): 6 feature maps, 6 anchors, 91 classes; the
                                  raw head outputs are the graph outputs (no box decoding, no NMS)
    resnet50_v1_5      224        torchvision resnet50 (stride on the 3x3 conv: v1.5)
    openpose           256        Cao et al. 2017 (CMU body pose): VGG-19 conv1_1..conv4_2,
                                  conv4_3/4_4 CPM, stage 1 + 5 refinement stages, 2 branches
                                  (38 PAF, 19 heatmap channels)
    srcnn              384        Dong et al. 2014: 9-1-5, 64 and 32 filters, Y channel in/out
    tiny_yolo_v3       416        Darknet yolov3-tiny.cfg, with the x2 nearest upsample
    yolo_v3            416        Darknet yolov3.cfg: Darknet-53 + 3 heads, x2 nearest upsamples
    centernet_res101   512        Zhou et al. 2019 (msra_resnet): resnet101 without pool/fc,
                                  3 x (ConvTranspose 4x4/2 + BN + ReLU, 256 channels), heads
                                  hm 80, wh 2, reg 2 (3x3 conv 64 + ReLU + 1x1 conv)
    unet               384        Ronneberger et al. 2015 with padded 3x3 convs + BN (so the
                                  output is 384x384), 64..1024 channels, ConvTranspose 2x2/2 up,
                                  3 channels in, 2 classes out

Writes DIR/<name>.onnx (the default DIR is ~/.cache/ktc/calibration) and DIR/manifest.txt (name,
input shape, ONNX bytes, node count, op types). A model whose .onnx exists is skipped (cache)
unless --force. The exports keep their float32 weights (--list prints each
model's parameter count); building the whole zoo takes about 40 s on two cores (about 1.25 GB).
"""
import argparse
import os
import sys
import time

OPSET = 11
TORCH_SEED = 0


def default_out():
    return os.path.join(os.path.expanduser("~"), ".cache", "ktc", "calibration")


# ---- building blocks ---------------------------------------------------------------------------
def nn():
    import torch.nn
    return torch.nn


def conv_bn(cin, cout, k, stride=1, padding=None, groups=1, act="relu"):
    """Conv (no bias) + BN + activation; padding defaults to 'same' for odd k."""
    n = nn()
    if padding is None:
        padding = (k // 2) if isinstance(k, int) else (k[0] // 2, k[1] // 2)
    layers = [n.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=False), n.BatchNorm2d(cout)]
    if act == "relu":
        layers.append(n.ReLU(inplace=True))
    elif act == "relu6":
        layers.append(n.ReLU6(inplace=True))
    elif act == "leaky":
        layers.append(n.LeakyReLU(0.1, inplace=True))
    return n.Sequential(*layers)


def make_concat(*branches):
    import torch
    n = nn()

    class Concat(n.Module):
        def __init__(self):
            super().__init__()
            self.branches = n.ModuleList(branches)

        def forward(self, x):
            return torch.cat([b(x) for b in self.branches], 1)

    return Concat()


# ---- Inception v4 (Szegedy, Ioffe, Vanhoucke, Alemi 2016) ----------------------------------------
def inception_v4():
    import torch
    n = nn()
    c = conv_bn
    seq = n.Sequential

    def pool_avg():
        return n.AvgPool2d(3, 1, 1, count_include_pad=False)

    class Stem(n.Module):  # Figure 3: 299x299x3 -> 35x35x384
        def __init__(self):
            super().__init__()
            self.a = seq(c(3, 32, 3, 2, 0), c(32, 32, 3, 1, 0), c(32, 64, 3, 1, 1))
            self.b_pool, self.b_conv = n.MaxPool2d(3, 2), c(64, 96, 3, 2, 0)
            self.c1 = seq(c(160, 64, 1), c(64, 96, 3, 1, 0))
            self.c2 = seq(c(160, 64, 1), c(64, 64, (7, 1)), c(64, 64, (1, 7)), c(64, 96, 3, 1, 0))
            self.d_conv, self.d_pool = c(192, 192, 3, 2, 0), n.MaxPool2d(3, 2)

        def forward(self, x):
            x = self.a(x)
            x = torch.cat([self.b_pool(x), self.b_conv(x)], 1)
            x = torch.cat([self.c1(x), self.c2(x)], 1)
            return torch.cat([self.d_conv(x), self.d_pool(x)], 1)

    def block_a():  # Figure 4
        return make_concat(seq(pool_avg(), c(384, 96, 1)), c(384, 96, 1),
                           seq(c(384, 64, 1), c(64, 96, 3)),
                           seq(c(384, 64, 1), c(64, 96, 3), c(96, 96, 3)))

    def reduction_a():  # Figure 7, k=192 l=224 m=256 n=384
        return make_concat(n.MaxPool2d(3, 2), c(384, 384, 3, 2, 0),
                           seq(c(384, 192, 1), c(192, 224, 3), c(224, 256, 3, 2, 0)))

    def block_b():  # Figure 5
        return make_concat(seq(pool_avg(), c(1024, 128, 1)), c(1024, 384, 1),
                           seq(c(1024, 192, 1), c(192, 224, (1, 7)), c(224, 256, (7, 1))),
                           seq(c(1024, 192, 1), c(192, 192, (1, 7)), c(192, 224, (7, 1)),
                               c(224, 224, (1, 7)), c(224, 256, (7, 1))))

    def reduction_b():  # Figure 8
        return make_concat(n.MaxPool2d(3, 2), seq(c(1024, 192, 1), c(192, 192, 3, 2, 0)),
                           seq(c(1024, 256, 1), c(256, 256, (1, 7)), c(256, 320, (7, 1)),
                               c(320, 320, 3, 2, 0)))

    class BlockC(n.Module):  # Figure 6
        def __init__(self):
            super().__init__()
            self.pool = seq(pool_avg(), c(1536, 256, 1))
            self.b1 = c(1536, 256, 1)
            self.b2, self.b2a, self.b2b = c(1536, 384, 1), c(384, 256, (1, 3)), c(384, 256, (3, 1))
            self.b3 = seq(c(1536, 384, 1), c(384, 448, (1, 3)), c(448, 512, (3, 1)))
            self.b3a, self.b3b = c(512, 256, (3, 1)), c(512, 256, (1, 3))

        def forward(self, x):
            y2, y3 = self.b2(x), self.b3(x)
            return torch.cat([self.pool(x), self.b1(x), self.b2a(y2), self.b2b(y2),
                              self.b3a(y3), self.b3b(y3)], 1)

    class Net(n.Module):
        def __init__(self):
            super().__init__()
            self.features = seq(Stem(), *[block_a() for _ in range(4)], reduction_a(),
                                *[block_b() for _ in range(7)], reduction_b(),
                                *[BlockC() for _ in range(3)])
            self.pool = n.AdaptiveAvgPool2d(1)
            self.fc = n.Linear(1536, 1000)

        def forward(self, x):
            return self.fc(torch.flatten(self.pool(self.features(x)), 1))

    return Net()


# ---- MobileNet v1 (Howard et al. 2017, Table 1) ----------------------------------------------------
def mobilenet_v1():
    import torch
    n = nn()
    cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + \
          [(1024, 2), (1024, 1)]
    layers, cin = [conv_bn(3, 32, 3, 2, act="relu6")], 32
    for cout, s in cfg:
        layers += [conv_bn(cin, cin, 3, s, groups=cin, act="relu6"), conv_bn(cin, cout, 1, act="relu6")]
        cin = cout

    class Net(n.Module):
        def __init__(self):
            super().__init__()
            self.features = n.Sequential(*layers)
            self.pool = n.AdaptiveAvgPool2d(1)
            self.fc = n.Linear(1024, 1000)

        def forward(self, x):
            return self.fc(torch.flatten(self.pool(self.features(x)), 1))

    return Net()


# ---- MobileNet v2 SSDLite (Sandler et al. 2018, section 6.2) -----------------------------------
def mobilenet_v2_ssdlite():
    import torchvision
    n = nn()
    anchors, classes = 6, 91
    features = torchvision.models.mobilenet_v2(weights=None).features
    # The first SSDLite head reads the expansion (1x1 conv, 576 channels) of block 14's
    # inverted residual at 19x19; the second the last layer (1280 channels) at 10x10.
    block14 = features[14].conv  # [expand conv_bn, depthwise conv_bn, project conv, project bn]

    def separable(cin, cout):  # SSDLite: depthwise 3x3 + pointwise 1x1 in the heads
        return n.Sequential(conv_bn(cin, cin, 3, groups=cin, act="relu6"),
                            n.Conv2d(cin, cout, 1))

    def extra(cin, cout):  # 1x1 -> depthwise 3x3/2 -> 1x1
        mid = cout // 2
        return n.Sequential(conv_bn(cin, mid, 1, act="relu6"),
                            conv_bn(mid, mid, 3, 2, groups=mid, act="relu6"),
                            conv_bn(mid, cout, 1, act="relu6"))

    class Net(n.Module):
        def __init__(self):
            super().__init__()
            self.head14 = features[:14]
            self.expand14 = block14[0]
            self.rest14 = n.Sequential(*list(block14)[1:])
            self.tail = features[15:]
            self.extras = n.ModuleList([extra(1280, 512), extra(512, 256), extra(256, 256),
                                        extra(256, 128)])
            chans = [576, 1280, 512, 256, 256, 128]
            self.cls = n.ModuleList([separable(ch, anchors * classes) for ch in chans])
            self.box = n.ModuleList([separable(ch, anchors * 4) for ch in chans])

        def forward(self, x):
            x = self.head14(x)
            e = self.expand14(x)
            maps = [e]
            x = self.tail(self.rest14(e))  # block 14 has stride 2: no residual
            maps.append(x)
            for layer in self.extras:
                x = layer(x)
                maps.append(x)
            outs = []
            for m, c, b in zip(maps, self.cls, self.box):
                outs += [c(m), b(m)]
            return tuple(outs)

    return Net()


# ---- OpenPose (Cao et al. 2017, CMU body pose, 2 branches, 6 stages) ----------------------------
def openpose():
    import torch
    n = nn()

    def conv(cin, cout, k, relu=True):
        layers = [n.Conv2d(cin, cout, k, 1, k // 2)]
        if relu:
            layers.append(n.ReLU(inplace=True))
        return layers

    vgg = []
    for cin, cout in [(3, 64), (64, 64)]:
        vgg += conv(cin, cout, 3)
    vgg.append(n.MaxPool2d(2, 2))
    for cin, cout in [(64, 128), (128, 128)]:
        vgg += conv(cin, cout, 3)
    vgg.append(n.MaxPool2d(2, 2))
    for cin, cout in [(128, 256), (256, 256), (256, 256), (256, 256)]:
        vgg += conv(cin, cout, 3)
    vgg.append(n.MaxPool2d(2, 2))
    for cin, cout in [(256, 512), (512, 512), (512, 256), (256, 128)]:  # conv4_1, 4_2, CPM 4_3, 4_4
        vgg += conv(cin, cout, 3)

    def stage1(cout):
        return n.Sequential(*conv(128, 128, 3), *conv(128, 128, 3), *conv(128, 128, 3),
                            *conv(128, 512, 1), *conv(512, cout, 1, relu=False))

    def stage_t(cout):
        layers = conv(185, 128, 7)
        for _ in range(4):
            layers += conv(128, 128, 7)
        return n.Sequential(*layers, *conv(128, 128, 1), *conv(128, cout, 1, relu=False))

    class Net(n.Module):
        def __init__(self):
            super().__init__()
            self.vgg = n.Sequential(*vgg)
            self.paf = n.ModuleList([stage1(38)] + [stage_t(38) for _ in range(5)])
            self.heat = n.ModuleList([stage1(19)] + [stage_t(19) for _ in range(5)])

        def forward(self, x):
            f = self.vgg(x)
            p, h = self.paf[0](f), self.heat[0](f)
            for i in range(1, 6):
                y = torch.cat([p, h, f], 1)
                p, h = self.paf[i](y), self.heat[i](y)
            return p, h

    return Net()


# ---- SRCNN (Dong et al. 2014, 9-1-5) ------------------------------------------------------------
def srcnn():
    n = nn()
    return n.Sequential(n.Conv2d(1, 64, 9, 1, 4), n.ReLU(inplace=True),
                        n.Conv2d(64, 32, 1), n.ReLU(inplace=True),
                        n.Conv2d(32, 1, 5, 1, 2))


# ---- YOLO (Darknet yolov3-tiny.cfg, yolov3.cfg) --------------------------------------------------
def upsample2():
    return nn().Upsample(scale_factor=2, mode="nearest")


def tiny_yolo_v3():
    import torch
    n = nn()
    out = 3 * (80 + 5)
    c = lambda cin, cout, k: conv_bn(cin, cout, k, act="leaky")

    class Net(n.Module):
        def __init__(self):
            super().__init__()
            layers, cin = [], 3
            for cout in [16, 32, 64, 128, 256]:
                layers += [c(cin, cout, 3), n.MaxPool2d(2, 2)]
                cin = cout
            self.to26 = n.Sequential(*layers[:-1])  # ends with the 256-channel conv at 26x26
            self.to13 = n.Sequential(n.MaxPool2d(2, 2), c(256, 512, 3),
                                     n.ZeroPad2d((0, 1, 0, 1)), n.MaxPool2d(2, 1),
                                     c(512, 1024, 3), c(1024, 256, 1))
            self.head13 = n.Sequential(c(256, 512, 3), n.Conv2d(512, out, 1))
            self.up = n.Sequential(c(256, 128, 1), upsample2())
            self.head26 = n.Sequential(c(384, 256, 3), n.Conv2d(256, out, 1))

        def forward(self, x):
            r26 = self.to26(x)
            r13 = self.to13(r26)
            return self.head13(r13), self.head26(torch.cat([self.up(r13), r26], 1))

    return Net()


def yolo_v3():
    import torch
    n = nn()
    out = 3 * (80 + 5)
    c = lambda cin, cout, k, s=1: conv_bn(cin, cout, k, s, act="leaky")

    class Residual(n.Module):
        def __init__(self, ch):
            super().__init__()
            self.body = n.Sequential(c(ch, ch // 2, 1), c(ch // 2, ch, 3))

        def forward(self, x):
            return x + self.body(x)

    def stage(cin, cout, blocks):
        return n.Sequential(c(cin, cout, 3, 2), *[Residual(cout) for _ in range(blocks)])

    def five(cin, ch):  # 1x1, 3x3, 1x1, 3x3, 1x1
        return n.Sequential(c(cin, ch, 1), c(ch, 2 * ch, 3), c(2 * ch, ch, 1), c(ch, 2 * ch, 3),
                            c(2 * ch, ch, 1))

    class Net(n.Module):
        def __init__(self):
            super().__init__()
            self.s8 = n.Sequential(c(3, 32, 3), stage(32, 64, 1), stage(64, 128, 2),
                                   stage(128, 256, 8))
            self.s16 = stage(256, 512, 8)
            self.s32 = stage(512, 1024, 4)
            self.five32, self.out32 = five(1024, 512), n.Sequential(c(512, 1024, 3), n.Conv2d(1024, out, 1))
            self.up16 = n.Sequential(c(512, 256, 1), upsample2())
            self.five16, self.out16 = five(768, 256), n.Sequential(c(256, 512, 3), n.Conv2d(512, out, 1))
            self.up8 = n.Sequential(c(256, 128, 1), upsample2())
            self.five8, self.out8 = five(384, 128), n.Sequential(c(128, 256, 3), n.Conv2d(256, out, 1))

        def forward(self, x):
            x8 = self.s8(x)
            x16 = self.s16(x8)
            x32 = self.s32(x16)
            a = self.five32(x32)
            b = self.five16(torch.cat([self.up16(a), x16], 1))
            d = self.five8(torch.cat([self.up8(b), x8], 1))
            return self.out32(a), self.out16(b), self.out8(d)

    return Net()


# ---- CenterNet ResNet-101 (Zhou, Wang, Krähenbühl 2019; msra_resnet) ----------------------------
def centernet_res101():
    import torchvision
    n = nn()
    r = torchvision.models.resnet101(weights=None)

    def deconv(cin):
        return n.Sequential(n.ConvTranspose2d(cin, 256, 4, 2, 1, bias=False), n.BatchNorm2d(256),
                            n.ReLU(inplace=True))

    def head(cout):
        return n.Sequential(n.Conv2d(256, 64, 3, 1, 1), n.ReLU(inplace=True), n.Conv2d(64, cout, 1))

    class Net(n.Module):
        def __init__(self):
            super().__init__()
            self.backbone = n.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2,
                                         r.layer3, r.layer4)
            self.up = n.Sequential(deconv(2048), deconv(256), deconv(256))
            self.hm, self.wh, self.reg = head(80), head(2), head(2)

        def forward(self, x):
            y = self.up(self.backbone(x))
            return self.hm(y), self.wh(y), self.reg(y)

    return Net()


# ---- UNet (Ronneberger, Fischer, Brox 2015; padded convs + BN) ----------------------------------
def unet():
    import torch
    n = nn()

    def double(cin, cout):
        return n.Sequential(conv_bn(cin, cout, 3), conv_bn(cout, cout, 3))

    class Net(n.Module):
        def __init__(self):
            super().__init__()
            ch = [64, 128, 256, 512, 1024]
            self.down = n.ModuleList([double(3, 64)] + [double(ch[i], ch[i + 1]) for i in range(4)])
            self.pool = n.MaxPool2d(2, 2)
            self.ups = n.ModuleList([n.ConvTranspose2d(ch[i + 1], ch[i], 2, 2) for i in reversed(range(4))])
            self.dec = n.ModuleList([double(ch[i + 1], ch[i]) for i in reversed(range(4))])
            self.out = n.Conv2d(64, 2, 1)

        def forward(self, x):
            skips = []
            for i, d in enumerate(self.down):
                x = d(x if i == 0 else self.pool(x))
                skips.append(x)
            x = skips.pop()
            for up, dec in zip(self.ups, self.dec):
                x = dec(torch.cat([skips.pop(), up(x)], 1))
            return self.out(x)

    return Net()


# ---- torchvision models -------------------------------------------------------------------------
def torchvision_model(name, **kwargs):
    def build():
        import torchvision
        return getattr(torchvision.models, name)(weights=None, **kwargs)
    return build


# name -> (builder, input channels, input H=W); names match the manifest and test_calibration.cpp
MODELS = {
    "inception_v3": (torchvision_model("inception_v3", aux_logits=False, init_weights=False,
                                       transform_input=False), 3, 224),
    "inception_v4": (inception_v4, 3, 299),
    "mobilenet_v1": (mobilenet_v1, 3, 224),
    "mobilenet_v2": (torchvision_model("mobilenet_v2"), 3, 224),
    "mobilenet_v2_ssdlite": (mobilenet_v2_ssdlite, 3, 300),
    "resnet50_v1_5": (torchvision_model("resnet50"), 3, 224),
    "openpose": (openpose, 3, 256),
    "srcnn": (srcnn, 1, 384),
    "tiny_yolo_v3": (tiny_yolo_v3, 3, 416),
    "yolo_v3": (yolo_v3, 3, 416),
    "centernet_res101": (centernet_res101, 3, 512),
    "unet": (unet, 3, 384),
}


def onnx_path(out, name):
    return os.path.join(out, f"{name}.onnx")


def export(name, out):
    import torch
    import onnx
    builder, channels, size = MODELS[name]
    torch.manual_seed(TORCH_SEED)
    model = builder().eval()
    x = torch.randn(1, channels, size, size)
    tmp = onnx_path(out, name) + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, x, tmp, opset_version=OPSET, do_constant_folding=True,
                          input_names=["input"], training=torch.onnx.TrainingMode.EVAL)
    onnx.checker.check_model(onnx.load(tmp, load_external_data=False))
    os.replace(tmp, onnx_path(out, name))
    return sum(p.numel() for p in model.parameters())


def describe(out, name):
    import onnx
    m = onnx.load(onnx_path(out, name), load_external_data=False)
    dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    return dict(input="x".join(map(str, dims)), bytes=os.path.getsize(onnx_path(out, name)),
                nodes=len(m.graph.node), ops=sorted({n.op_type for n in m.graph.node}))


def write_manifest(out):
    lines = ["# name input_shape onnx_bytes nodes ops"]
    for name in MODELS:
        if os.path.exists(onnx_path(out, name)):
            d = describe(out, name)
            lines.append(f"{name} {d['input']} {d['bytes']} {d['nodes']} {','.join(d['ops'])}")
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description="export the seed's performance-table models "
                                             "(random weights) to ONNX opset 11")
    ap.add_argument("--out", default=default_out(), help="output folder (default %(default)s)")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    ap.add_argument("--force", action="store_true", help="re-export even if the file exists")
    ap.add_argument("--list", action="store_true", help="list the models with their parameter counts")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    a = ap.parse_args(argv)
    names = [s.strip() for s in a.models.split(",") if s.strip()]
    unknown = [s for s in names if s not in MODELS]
    if unknown:
        ap.error(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(MODELS)}")
    import torch
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.list:
        for name in names:
            builder, channels, size = MODELS[name]
            params = sum(p.numel() for p in builder().parameters())
            print(f"{name:22s} 1x{channels}x{size}x{size} {params / 1e6:7.2f} M parameters")
        return 0
    os.makedirs(a.out, exist_ok=True)
    failed, start = [], time.time()
    for name in names:
        t0 = time.time()
        cached = not a.force and os.path.exists(onnx_path(a.out, name))
        try:
            params = None if cached else export(name, a.out)
            d = describe(a.out, name)
        except Exception as e:  # report and go on with the other models
            print(f"{name}: FAILED: {e}", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        how = "cached" if cached else f"exported ({params / 1e6:.2f} M parameters)"
        print(f"{name:22s} {time.time() - t0:6.1f} s  {how}  in {d['input']}  "
              f"{d['bytes'] / 1e6:.1f} MB  {d['nodes']} nodes  ops: {' '.join(d['ops'])}", flush=True)
    write_manifest(a.out)
    print(f"calibration zoo: {len(names) - len(failed)} of {len(names)} models in {a.out} "
          f"({time.time() - start:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
