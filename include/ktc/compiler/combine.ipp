// ktc/compiler/combine.ipp - the definitions behind combine.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/compiler/combine.hpp"

namespace ktc::compiler {

KTC_DECL nef_file combine_nefs(const std::vector<named_nef>& inputs, const std::string& toolchain_version) {
    if (inputs.empty()) throw usage_error("combine: no .nef files given");
    nef_file out;
    out.platform = inputs.front().file.platform;
    out.toolchain_version = toolchain_version;
    std::map<std::uint32_t, std::string> seen;  // id -> source
    for (const auto& in : inputs) {
        if (in.file.platform != out.platform)
            throw usage_error("combine: " + in.source + " is for platform " + platform::to_string(in.file.platform) +
                              ", " + inputs.front().source + " for " + platform::to_string(out.platform) +
                              " (one platform per .nef)");
        out.compress_weights = out.compress_weights || in.file.compress_weights;
        for (const auto& m : in.file.models) {
            auto [it, added] = seen.emplace(m.id, in.source);
            if (!added)
                throw usage_error("combine: model id " + std::to_string(m.id) + " is in both " + it->second + " and " +
                                  in.source);
            out.models.push_back(m);
        }
    }
    if (out.models.size() > max_nef_models)
        throw usage_error("combine: more than " + std::to_string(max_nef_models) + " models");
    return out;
}

}  // namespace ktc::compiler
