// ktc/compiler/compile.ipp - the definitions behind compile.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/compiler/compile.hpp"

namespace ktc::compiler {
namespace compile_detail {

KTC_DECL std::array<std::int64_t, 3> chw(const shape_t& s) {
    std::array<std::int64_t, 3> r = {1, 1, 1};
    const std::size_t skip = s.empty() ? 0 : 1;  // the batch axis
    for (std::size_t i = skip, k = 0; i < s.size() && k < 3; ++i, ++k) r[k] = s[i];
    if (s.size() > 4)
        for (std::size_t i = 4; i < s.size(); ++i) r[2] *= s[i];
    return r;
}

}  // namespace compile_detail
KTC_DECL compiled_model compile_model(const quant::bie_model& bie, std::uint32_t id, std::uint16_t version,
                                      const std::string& name, const compile_options& options) {
    return platform::with_platform(
        bie.platform, [&](auto tag) { return compile_model<decltype(tag)>(bie, id, version, name, options); });
}

#if !KTC_HEADER_ONLY
template compiled_model compile_model<platform::kdp520>(const quant::bie_model&, std::uint32_t, std::uint16_t,
                                                        const std::string&, const compile_options&);
template compiled_model compile_model<platform::kdp720>(const quant::bie_model&, std::uint32_t, std::uint16_t,
                                                        const std::string&, const compile_options&);
#endif

}  // namespace ktc::compiler
