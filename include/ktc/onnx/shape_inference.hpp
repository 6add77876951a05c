// ktc/onnx/shape_inference.hpp - refresh what the IR knows of intermediate shapes after rewrites.
//
// Rewrites change values (a BN fused away, a Shape chain folded, a batch dimension fixed), so the
// value_infos inferred at import go stale. This runs ONNX shape inference again on the graph as
// it stands, from scratch: the old value_infos are dropped first, because onnx merges with what a
// model declares and a stale declaration would be reported as a conflict.
#pragma once

#include <string>

#include "ktc/onnx/export.hpp"
#include "ktc/onnx/import.hpp"

namespace ktc::onnx {

// Throws error (exit 1) naming `what` when inference fails: the graph is left as it was.
inline void infer_shapes(graph::graph& g, const std::string& what = "model") {
    auto stale = std::move(g.value_infos);
    g.value_infos.clear();
    ::onnx::ModelProto m;
    try {
        m = to_model(g);
        ::onnx::shape_inference::InferShapes(m);
    } catch (const std::exception& e) {
        g.value_infos = std::move(stale);
        throw error(what + ": shape inference failed: " + detail::first_line(e.what()));
    }
    for (const auto& vi : m.graph().value_info()) {
        try {
            g.value_infos[vi.name()] = detail::value_info_from_proto(vi, "value");
        } catch (const unsupported_error&) {
            // An intermediate of a type ktc does not compute: its producer fails when run.
        }
    }
    // Graph outputs whose shape was unknown (or depended on a fixed batch) take the inferred one.
    for (const auto& out : m.graph().output()) {
        for (auto& o : g.outputs)
            if (o.name == out.name()) {
                try {
                    const auto inferred = detail::value_info_from_proto(out, "output");
                    if (inferred.rank_known) o = inferred;
                } catch (const unsupported_error&) {
                }
            }
    }
}

}  // namespace ktc::onnx
