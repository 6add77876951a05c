// ktc/onnx/shape_inference.ipp - the definitions behind shape_inference.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/onnx/shape_inference.hpp"

namespace ktc::onnx {

KTC_DECL void infer_shapes(graph::graph& g, const std::string& what) {
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
