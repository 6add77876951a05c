// ktc/quant/centre.hpp - give a one-sided activation every code of its signed format.
//
// A Conv followed by Clip(0, B) (ReLU6: B = 6) produces values in [0, B]. Stored as signed int8 it
// uses codes 0..127 only: half the codes, 6 dB of resolution lost on every such tensor. The chip
// has no zero point (kneron-facts section 1: float = fixed / scale / 2^radix), but the same
// function can be computed on values moved down by a constant c:
//   - the Conv's bias loses c and its clamp becomes [-c, B - c];
//   - every layer reading the tensor gets c back through its bias (a Conv adds c times the sum of
//     each output channel's weights), and a padded Conv reads it through an explicit Pad whose fill
//     is -c, the moved zero, instead of its own zero padding;
//   - ops between them that commute with adding a constant and keep its size (MaxPool, Flatten,
//     Reshape) pass it on; an average would keep c while shrinking the values around it, so the
//     averaging pools end the search.
// The float model computes the same outputs. c is chosen so that the moved bounds are exactly the
// int8 format's two ends, -128 and 127 steps of Δ = B / 255 (the step rounded up to one a 15-bit
// scale can hold, which moves the top by a fraction of a code): the clamp is then the output
// stage's own saturation, so the chip runs a Conv with no activation and no lower bound other than
// its type's, and the tensor has 255 steps where it had 127. Where calibration shows the tensor
// well below B, the codes span that range instead and the top clamp lies past the saturation.
// A Conv -> Relu output is centred the same way with B its one-sided mse clip over 255 steps: the
// Relu becomes Clip(-c, B - c), so the float model then clips where the fixed model saturates
// (its outputs differ only where a value passes B), and the layers after it are calibrated on what
// the fixed model gives them. A Concat passes a shift on when every input moved by the same c:
// its inputs, each a Conv -> Relu / Clip(0, B) output only it reads, are centred together, on the
// step of the largest top, and its readers take c back once. docs/numerics.md, rule 0b.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "ktc/core/config.hpp"
#include "ktc/graph/graph.hpp"
#include "ktc/quant/observer.hpp"

namespace ktc::quant {

struct calibration;  // quant/calibrate.hpp

// Marks a Conv whose output is centred (an int 1; kept in the .bie): the quantizer puts its clamp's
// lower bound, the moved zero, on the lowest code.
inline constexpr const char* centred_attribute = "ktc.centred";

// Marks a layer that reads a centred tensor (a float, the shift c its bias took back). Its input's
// mean is now E[x] - c, so rounding its weights offsets each output channel by the rounding errors
// times that mean: the quantizer corrects its bias for it as --bias-correction would, whatever
// that option says (docs/numerics.md, rules 0b and 6).
inline constexpr const char* input_shift_attribute = "ktc.input_shift";

struct centring_report {
    std::size_t activations = 0;  // Conv -> Clip(0, B) outputs moved down
    std::size_t relus = 0;        // Conv -> Relu outputs moved down
    std::size_t concats = 0;      // Concats whose inputs all moved by one shift
    std::size_t pads = 0;         // explicit Pads inserted before padded readers
};

// How calibration saw each tensor, for the top of its codes (infinity or 0 when unknown).
struct centring_ranges {
    // The calibrated range: the codes below a clamp B span min(B, 1.5 x range), the headroom rule
    // 3 gives percentile ranges, so that a ReLU6 output that never nears 6 keeps its resolution.
    std::function<double(const std::string&)> range;
    // A Relu output's clip that minimises its error over 2^bits - 1 steps (rule 2's mse, one-sided).
    std::function<double(const std::string&)> one_sided_clip;
};

// How many activations (or Concats of them) of `g` qualify, whatever their ranges.
KTC_DECL std::size_t centrable_activations(const graph::graph& g);

// Centres every eligible activation of `g` in place for `bits`-wide activations with a scale
// beside the radix (power-of-two formats cannot put the moved zero on the lowest code, so the
// caller skips it for them), at the tops `ranges` gives.
KTC_DECL centring_report centre_bounded_activations(graph::graph& g, int bits, const centring_ranges& ranges);

// The same at the ranges `cal` measured on `g`: each tensor's `method` range read as for a tensor
// without a scale (the 0.999 percentile with the defaults), as analysis centres a model.
KTC_DECL centring_report centre_bounded_activations(graph::graph& g, int bits, const calibration& cal,
                                                    range_method method = range_method::automatic,
                                                    double outlier = 0.999);

}  // namespace ktc::quant

#if KTC_HEADER_ONLY
#include "ktc/quant/centre.ipp"
#endif
