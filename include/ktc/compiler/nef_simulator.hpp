// ktc/compiler/nef_simulator.hpp - the hardware simulator of a compiled model (the vendor's
// kneron_inference on a .nef): it executes the model's command stream, not the graph.
//
// DRAM is three byte arrays (input, output and working areas of the model table) holding values
// in the NPU layout the compiler chose (4-D maps: rows padded to 16 bytes, channel after
// channel). LOAD_TILE copies rows of a value from DRAM into on-chip tiles, RUN_LAYER computes a
// layer's output rows from those tiles with the fixed-point kernels (kernels/fixed/, the .bie
// simulator's own: a windowed node runs on its tile with the pads clipped to the tile, so every
// output element is the same sum as in the whole-tensor run), STORE_TILE writes the rows back, and
// CPU_OP runs a CPU step on whole tensors. Inputs are quantized at the model's input radix and
// outputs dequantized, as in fixed_simulator.hpp: results equal `ktc infer --bie` bit for bit,
// and a wrong memory plan or tiling would show as a difference.
#pragma once

#include "ktc/core/config.hpp"

#include <array>

#include <optional>
#include <vector>

#include "ktc/compiler/nef.hpp"
#include "ktc/compiler/memory_plan.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/onnx/tensor_proto.hpp"
#include "ktc/sim/fixed_simulator.hpp"

namespace ktc::compiler {

class nef_simulator {
public:
    // `source` names the .nef in errors; `input_radix` overrides the input radix (as --radix).
    nef_simulator(const compiler::nef_model& m, const std::string& source,
                  std::optional<int> input_radix = std::nullopt);
    nef_simulator(const nef_simulator&) = delete;
    nef_simulator& operator=(const nef_simulator&) = delete;

    // One sample: float inputs by name (model layout), float (dequantized) outputs.
    sim::tensor_map run(const sim::tensor_map& inputs) const;

    // User data (one sample or a stack), on `threads` threads (0: every core; sim/samples.hpp).
    sim::tensor_map run_samples(const sim::tensor_map& user, layout user_layout,
                                const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                                unsigned threads = 1) const {
        return sim::run_samples(
            float_inputs_, [this](const sim::tensor_map& one) { return run(one); }, user, user_layout, progress,
            threads);
    }

    // The model inputs as the user gives them (float).
    const std::vector<graph::value_info>& inputs() const { return float_inputs_; }
    const graph::graph& graph() const { return graph_; }

private:
    sim::tensor_map run_commands(const sim::tensor_map& inputs) const;

    struct value {
        std::string name;
        compiler::value_desc desc;
        int area = 2;
        std::uint64_t offset = 0;
    };
    struct step {
        compiler::layer l;
        std::vector<const graph::node*> nodes;
        bool tiled = false;
        std::vector<compiler::row_window> windows;
        std::vector<std::int64_t> in_rows;
        std::vector<std::size_t> slots;
    };
    struct tile {
        std::int64_t begin = 0;  // first row
        tensor data;
    };
    struct machine {
        std::vector<std::byte> input, output, working;
        std::map<std::size_t, tile> loaded;    // on-chip input tiles, by value
        std::map<std::size_t, tile> produced;  // the last RUN_LAYER's output tiles
    };

    static dtype dtype_named(const std::string& s) {
        for (dtype t : {dtype::int8, dtype::int16, dtype::int32, dtype::int64, dtype::float32, dtype::uint8,
                        dtype::boolean, dtype::float64, dtype::uint16, dtype::uint32, dtype::uint64})
            if (s == name_of(t)) return t;
        throw std::runtime_error("unknown type '" + s + "'");
    }
    std::uint64_t area_size(int area) const {
        return area == 0 ? input_bytes_ : area == 1 ? output_bytes_ : working_bytes_;
    }
    std::size_t index_of(const std::string& name) const {
        for (std::size_t i = 0; i < values_.size(); ++i)
            if (values_[i].name == name) return i;
        throw error("nef: no DRAM value '" + name + "'");
    }
    static std::byte* base(machine& mc, int area) {
        return area == 0 ? mc.input.data() : area == 1 ? mc.output.data() : mc.working.data();
    }

    // Rows [begin, begin + count) of value v from DRAM (NPU layout) into a dense tensor.
    tensor load(machine& mc, std::size_t v, std::int64_t begin, std::int64_t count) const;

    // A dense tile (rows from `begin`) into value v's DRAM bytes.
    void store(machine& mc, std::size_t v, const tensor& t, std::int64_t begin) const;

    // Rows [begin, end) of a tile holding rows from tile.begin.
    static tensor slice_rows(const tile& t, std::int64_t begin, std::int64_t end, const std::string& what);

    static void call(const graph::node& n, std::vector<const tensor*> args, std::vector<tensor>& results);

    const tensor* constant(const std::string& name) const { return graph_.initializer(name); }

    void run_layer(machine& mc, const step& s, std::int64_t begin, std::int64_t end) const;

    std::int64_t values_width(const graph::node& n) const;

    void execute(machine& mc, const compiler::command& c) const;

    std::string where_, source_;                                // "model ID" and the .nef, for errors
    std::uint64_t input_bytes_, output_bytes_, working_bytes_;  // the areas as the header declares them
    std::array<std::uint64_t, 3> extent_{};                     // the bytes their values occupy
    std::map<std::string, compiler::value_desc> descs_;         // DRAM values and layer intermediates
    graph::graph graph_;
    std::vector<value> values_;
    std::vector<step> steps_;
    std::vector<compiler::command> commands_;
    std::map<std::string, fixed::value_format> formats_;
    std::vector<graph::value_info> float_inputs_;
};

}  // namespace ktc::compiler

#if KTC_HEADER_ONLY
#include "ktc/compiler/nef_simulator.ipp"
#endif
