// ktc/compiler/combine.hpp - several .nef files of one platform merged into one (the vendor's
// combine_nef): every model of every input, in input order; mixed platforms and an id present in
// two inputs are usage errors naming both files.
#pragma once

#include "ktc/core/config.hpp"

#include <map>
#include <string>
#include <vector>

#include "ktc/compiler/nef.hpp"

namespace ktc::compiler {

struct named_nef {
    std::string source;  // the file it came from, for messages
    nef_file file;
};

KTC_DECL nef_file combine_nefs(const std::vector<named_nef>& inputs, const std::string& toolchain_version);

}  // namespace ktc::compiler

#if KTC_HEADER_ONLY
#include "ktc/compiler/combine.ipp"
#endif
