// ktc/api/compile.hpp - the seed's ktc.compile (batch compile, manual 5.1) and ktc.combine_nef
// (manual 5.3).
//
// compile() turns the quantized models of one platform into one .nef (and its ioinfo.csv: one
// row per input (i), CPU node (c) and output (o): kind,index,name,C,H,W,model_id). Every model
// must have a .bie (bie_path, or analysis() run), the same platform, and its own id.
#pragma once

#include "ktc/core/config.hpp"

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ktc/api/model_config.hpp"
#include "ktc/api/version.hpp"
#include "ktc/compiler/combine.hpp"
#include "ktc/compiler/compile.hpp"
#include "ktc/io/nef.hpp"

namespace ktc {

struct compile_options {
    std::filesystem::path output;    // the .nef to write, ioinfo.csv beside it ("" : in memory only)
    bool weight_compress = false;    // lossless zero-run coding of the weights
    std::uint64_t onchip_bytes = 0;  // on-chip memory budget for tiling (0: the platform's)
};

// What compile() made: the .nef in memory, and what each model became.
struct compile_result {
    compiler::nef_file nef;
    std::string ioinfo_csv;
    std::filesystem::path nef_path, ioinfo_path;  // empty unless written
    struct model_summary {
        std::uint32_t id;
        std::uint16_t version;
        std::string name;
        std::size_t steps, cpu_steps, tiles;
    };
    std::vector<model_summary> models;
    std::vector<std::string> warnings;  // e.g. an id in the range reserved for the vendor's models
};

KTC_DECL compile_result compile(const std::vector<model_config>& models, const compile_options& o = {});

// Merges the models of .nef files of one platform into out_dir/models_<platform>.nef and
// returns that path. Mixed platforms and an id in two files are usage errors naming both.
KTC_DECL std::filesystem::path combine_nef(const std::vector<std::filesystem::path>& nef_paths,
                                           const std::filesystem::path& out_dir);

}  // namespace ktc

#if KTC_HEADER_ONLY
#include "ktc/api/compile.ipp"
#endif
