// ktc/compiler/nef.hpp - what the compiler hands the .nef hardware simulator: compiled models for one
// platform in memory (command stream, weights and setup blobs, the host's view of the inputs and
// outputs). Its file, the .nef, is io/nef.hpp (docs/formats.md, "The .nef file").
#pragma once

#include "ktc/core/config.hpp"

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ktc/compiler/command.hpp"
#include "ktc/core/error.hpp"
#include "ktc/core/shape.hpp"
#include "ktc/platform/platform.hpp"

namespace ktc::compiler {

// The most models one .nef holds.
inline constexpr std::uint32_t max_nef_models = 1024;

// A model input or output as the host sees it.
struct nef_tensor {
    std::string name;
    int bits = 8;
    int radix = 0;
    float scale = 1;  // float = q / scale / 2^radix (1: a power-of-two format)
    shape_t shape;
    std::uint64_t dram_offset = 0;  // in the input or output area
    bool operator==(const nef_tensor&) const = default;
};

struct nef_model {
    std::uint32_t id = 0;
    std::uint16_t version = 0;
    std::string name;
    std::vector<nef_tensor> inputs, outputs;
    std::uint64_t input_bytes = 0, output_bytes = 0, working_bytes = 0;  // DRAM areas
    std::string commands, weights, setup;                                // raw (uncompressed) blobs
    bool operator==(const nef_model&) const = default;
};

struct nef_file {
    platform::chip platform = platform::chip::kdp520;
    std::string toolchain_version;
    bool compress_weights = false;
    std::vector<nef_model> models;
};

KTC_DECL std::string version_string(std::uint16_t v);

// The setup blob: u64 JSON length, the JSON plan (values, layers, weights), zero padding to 8,
// u64 graph length, the quantized graph as an ONNX ModelProto without initializer data.
KTC_DECL std::string make_setup(const nlohmann::json& plan, std::string_view graph_bytes);

struct setup_view {
    nlohmann::json plan;
    std::string_view graph;
};

KTC_DECL setup_view split_setup(std::string_view setup, const std::string& where);

// Operand ranges of a command stream against its setup plan.
KTC_DECL void check_commands(const std::vector<command>& cmds, const nlohmann::json& plan);

}  // namespace ktc::compiler

#if KTC_HEADER_ONLY
#include "ktc/compiler/nef.ipp"
#endif
