// tests/support/output_snr.hpp - the SNR in dB of a fixed-point model's output against the float
// model's, over samples [from, to) of a sample function.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "ktc/sim/fixed_simulator.hpp"
#include "ktc/sim/float_simulator.hpp"

namespace ktc::testing {

template <class Sample>
double output_snr(const sim::float_simulator& reference, const sim::fixed_simulator& fixed, Sample sample,
                  std::size_t from, std::size_t to, const std::string& output = "y") {
    double signal = 0, noise = 0;
    for (std::size_t s = from; s < to; ++s) {
        const auto want_outputs = reference.run(sample(s)), got_outputs = fixed.run(sample(s));  // alive while read
        const auto want = want_outputs.at(output).template values<float>(),
                   got = got_outputs.at(output).template values<float>();
        for (std::size_t i = 0; i < want.size(); ++i) {
            signal += double(want[i]) * want[i];
            noise += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
        }
    }
    return 10 * std::log10(signal / noise);
}

}  // namespace ktc::testing
