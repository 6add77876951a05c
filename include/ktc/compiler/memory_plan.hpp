// ktc/compiler/memory_plan.hpp - where each value of a compiled model lives in DRAM.
//
// A model's DRAM image, each area 16-byte aligned, in this order:
//   input     the graph inputs, in NPU layout, one after another (the host writes them)
//   output    the graph outputs (dedicated: the host reads them after END)
//   working   every other value a layer writes to DRAM; a value lives from the step that writes it
//             to the last step that reads it, and values whose lifetimes overlap never share
//             bytes (first fit, largest first)
//   weights, commands, setup   the model's three blobs as stored in the .nef
// Offsets of values are relative to their area; the area bases follow the order above.
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ktc/compiler/tiling.hpp"

namespace ktc::compiler {

enum class region : std::uint8_t { input = 0, output = 1, working = 2 };

KTC_DECL const char* name_of(region r);

struct buffer {
    std::string value;
    region where = region::working;
    std::uint64_t offset = 0;          // within its region, 16-byte aligned
    std::uint64_t bytes = 0;           // NPU layout size (memory_plan::bytes_of)
    std::int64_t first = 0, last = 0;  // steps (layer indices; -1 for graph inputs) it is live in
};

struct memory_plan {
    std::vector<buffer> buffers;  // one per activation value in DRAM
    std::uint64_t input_bytes = 0, output_bytes = 0, working_bytes = 0;

    const buffer* find(const std::string& value) const {
        for (const auto& b : buffers)
            if (b.value == value) return &b;
        return nullptr;
    }
};

// Bytes of a value in NPU layout: rows padded to 16 bytes for 4-D maps; other values dense; the
// whole rounded up to 16.
KTC_DECL std::uint64_t bytes_of(const value_desc& v);

KTC_DECL bool overlaps(const buffer& a, const buffer& b);
inline bool live_together(const buffer& a, const buffer& b) { return a.first <= b.last && b.first <= a.last; }

KTC_DECL memory_plan plan_memory(const graph::graph& g, const lowered_model& m);

}  // namespace ktc::compiler

#if KTC_HEADER_ONLY
#include "ktc/compiler/memory_plan.ipp"
#endif
