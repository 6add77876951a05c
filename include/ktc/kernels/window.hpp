// ktc/kernels/window.hpp - the geometry of sliding-window ops (Conv, ConvTranspose, pooling):
// kernel, strides, dilations and pads resolved from a node's attributes, with auto_pad, and the
// output extent. One place for the rule, shared by float and fixed kernels and by the compiler.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ktc/core/shape.hpp"
#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels {

struct window {
    shape_t kernel;     // per spatial axis
    shape_t strides;    // per spatial axis
    shape_t dilations;  // per spatial axis
    shape_t pads_begin, pads_end;
    shape_t in, out;  // spatial extents

    std::size_t rank() const { return kernel.size(); }
    std::int64_t out_size() const {
        std::int64_t n = 1;
        for (auto d : out) n *= d;
        return n;
    }
    std::int64_t in_size() const {
        std::int64_t n = 1;
        for (auto d : in) n *= d;
        return n;
    }
    std::int64_t kernel_size() const {
        std::int64_t n = 1;
        for (auto d : kernel) n *= d;
        return n;
    }
};

// Resolves the window of a forward sliding op over input spatial extents `in`. `kernel` comes from
// the weight (Conv) or the kernel_shape attribute (pools). `ceil_mode` is the pooling attribute.
inline window resolve_window(const kernel_call& call, const shape_t& in, const shape_t& kernel,
                             bool ceil_mode = false) {
    const auto& a = call.attrs();
    const std::size_t r = in.size();
    window w;
    w.in = in;
    w.kernel = kernel;
    w.strides = a.get_ints("strides", shape_t(r, 1));
    w.dilations = a.get_ints("dilations", shape_t(r, 1));
    if (w.kernel.size() != r || w.strides.size() != r || w.dilations.size() != r)
        throw call.fail("kernel_shape, strides and dilations must have one value per spatial axis (" +
                        std::to_string(r) + ")");
    for (std::size_t i = 0; i < r; ++i)
        if (w.kernel[i] < 1 || w.strides[i] < 1 || w.dilations[i] < 1)
            throw call.fail("kernel, strides and dilations must be positive");
    const std::string auto_pad = a.get_string("auto_pad", "NOTSET");
    w.pads_begin.assign(r, 0);
    w.pads_end.assign(r, 0);
    w.out.assign(r, 0);
    for (std::size_t i = 0; i < r; ++i) {
        const std::int64_t span = (w.kernel[i] - 1) * w.dilations[i] + 1;
        if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
            w.out[i] = (in[i] + w.strides[i] - 1) / w.strides[i];
            const std::int64_t total = std::max<std::int64_t>(0, (w.out[i] - 1) * w.strides[i] + span - in[i]);
            const std::int64_t small = total / 2, big = total - small;
            w.pads_begin[i] = auto_pad == "SAME_UPPER" ? small : big;
            w.pads_end[i] = auto_pad == "SAME_UPPER" ? big : small;
        } else if (auto_pad == "VALID") {
            w.out[i] = in[i] >= span ? (in[i] - span) / w.strides[i] + 1 : 0;
        } else if (auto_pad == "NOTSET") {
            const auto pads = a.get_ints("pads", shape_t(2 * r, 0));
            if (pads.size() != 2 * r) throw call.fail("pads must have 2 values per spatial axis");
            w.pads_begin[i] = pads[i];
            w.pads_end[i] = pads[i + r];
            if (pads[i] < 0 || pads[i + r] < 0) throw call.fail("negative pads are not supported");
            const std::int64_t padded = in[i] + w.pads_begin[i] + w.pads_end[i] - span;
            if (padded < 0) throw call.fail("window is larger than the padded input");
            w.out[i] = (ceil_mode ? (padded + w.strides[i] - 1) / w.strides[i] : padded / w.strides[i]) + 1;
            // A last window that starts inside the end padding is dropped (as ONNX and PyTorch do).
            if (ceil_mode && (w.out[i] - 1) * w.strides[i] >= in[i] + w.pads_begin[i]) --w.out[i];
        } else {
            throw call.fail("unknown auto_pad '" + auto_pad + "'");
        }
    }
    return w;
}

}  // namespace ktc::kernels
