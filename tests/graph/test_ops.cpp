// The op registry (graph/ops.hpp): every op the chips' tables name is in it, and the lists the
// passes use come from it.
#include <doctest/doctest.h>

#include "ktc/graph/ops.hpp"
#include "ktc/kernels/fixed/registry.hpp"
#include "ktc/kernels/float/registry.hpp"
#include "ktc/platform/platform.hpp"

using namespace ktc;

TEST_CASE_TEMPLATE("every op a chip's table names is in the op registry", P, platform::kdp520, platform::kdp720) {
    using traits = platform::platform_traits<P>;
    for (const auto& list :
         {std::span<const std::string_view>(traits::npu_ops), std::span<const std::string_view>(traits::cpu_ops),
          std::span<const std::string_view>(traits::folded_ops)})
        for (const std::string_view op : list) {
            CAPTURE(op);
            CHECK(ops::find(op) != nullptr);
        }
}

TEST_CASE("the op registry answers by trait, and nothing for an op it does not know") {
    CHECK(ops::is_mac("Conv"));
    CHECK(ops::is_mac("MatMul"));
    CHECK_FALSE(ops::is_mac("Add"));
    CHECK(ops::is_output_stage("Relu"));
    CHECK_FALSE(ops::is_output_stage("Reshape"));
    CHECK(ops::keeps_input_format("Transpose"));
    CHECK_FALSE(ops::keeps_input_format("AveragePool"));
    CHECK(ops::uses_lookup_table("Sigmoid"));
    CHECK_FALSE(ops::uses_lookup_table("PRelu"));  // an integer slope per channel
    CHECK(ops::only_relabels("Flatten"));
    CHECK_FALSE(ops::only_relabels("Transpose"));
    CHECK(ops::find("NoSuchOp") == nullptr);
    CHECK_FALSE(ops::has("NoSuchOp", ops::mac));
    CHECK(ops::with(ops::mac) == std::vector<std::string>{"Conv", "ConvTranspose", "Gemm", "MatMul"});
}

TEST_CASE("every op with an integer kernel in the registry has a fixed-point and a float kernel") {
    const auto& fixed = kernels::fixed::kernels();
    const auto& floats = kernels::floating::kernels();
    for (const auto& op : ops::with(ops::integer_kernel)) {
        CAPTURE(op);
        CHECK(fixed.count(op) == 1);
        CHECK(floats.count(op) == 1);
        CHECK(kernels::fixed::is_integer_op(op));
    }
}
