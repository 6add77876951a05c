// The documented limits (docs/reliability.md) refuse oversized declarations before allocating,
// and the onnx library's crashes on malformed models end as errors, not as the process.
#include <doctest/doctest.h>

#include <csignal>
#include <functional>
#include <string>

#include "ktc/core/isolated.hpp"
#include "ktc/core/npy.hpp"
#include "ktc/onnx/import.hpp"
#include "support/onnx_builder.hpp"

namespace {

// A Relu model whose initializer `w` (an unused second graph output's source) declares `dims`
// over a few bytes of raw data.
std::string model_with_initializer_dims(const ktc::shape_t& dims) {
    ktc::testing::model_builder b(13);
    b.input("x", {1, 2});
    b.output("y", {1, 2});
    b.node("Relu", {"x"}, {"y"});
    auto* w = b.g->add_initializer();
    w->set_name("w");
    w->set_data_type(::onnx::TensorProto::FLOAT);
    for (auto d : dims) w->add_dims(d);
    w->set_raw_data(std::string(16, '\0'));
    return b.bytes();
}

int code_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const ktc::error& e) {
        return static_cast<int>(e.code());
    }
    return 0;
}

}  // namespace

TEST_CASE("an ONNX initializer declaring 10^12 elements is a file error, allocating nothing") {
    const std::string huge = model_with_initializer_dims({1000000, 1000000});
    CHECK(code_of([&] { ktc::onnx::parse(huge, "huge.onnx"); }) == 4);
    CHECK_THROWS_WITH(ktc::onnx::parse(huge, "huge.onnx"), doctest::Contains("elements"));
    // 2^31 - 1 elements is within the count limit: refused for its 16 bytes of data, before the
    // 8 GiB tensor would be allocated (the sanitizer build would report that allocation).
    const std::string large = model_with_initializer_dims({2147483647});
    CHECK_THROWS_WITH(ktc::onnx::parse(large, "large.onnx"), doctest::Contains("raw_data holds 16 bytes"));
}

TEST_CASE("a tensor of rank 33 is refused, one of rank 32 is not") {
    CHECK_THROWS_WITH(ktc::element_count(ktc::shape_t(33, 1)), doctest::Contains("rank 33 exceeds 32"));
    CHECK(ktc::element_count(ktc::shape_t(32, 1)) == 1);
    CHECK(code_of([&] { ktc::onnx::parse(model_with_initializer_dims(ktc::shape_t(40, 1)), "deep.onnx"); }) == 4);
}

TEST_CASE("a .npy declaring 10^12 elements, or bytes after its data, is a file error") {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }";
    header.resize(118, ' ');
    header += '\n';
    std::string bytes =
        std::string("\x93NUMPY\x01\x00", 8) + char(header.size()) + char(0) + header + std::string(16, '\0');
    CHECK_THROWS_WITH(ktc::npy::parse(bytes, "huge.npy"), doctest::Contains("huge.npy"));
    const std::string good = ktc::npy::serialize(ktc::tensor::from<float>({2}, {1.f, 2.f}));
    CHECK(ktc::npy::parse(good, "good.npy").size() == 2);
    CHECK_THROWS_WITH(ktc::npy::parse(good + "junk", "long.npy"), doctest::Contains("4 bytes after the data"));
}

TEST_CASE("a graph of more than max_graph_nodes nodes is refused before it is converted") {
    ktc::testing::model_builder b(13);
    b.input("x", {1});
    b.output("y", {1});
    for (std::size_t i = 0; i <= ktc::graph::max_graph_nodes; ++i) b.g->add_node();
    CHECK_THROWS_WITH(ktc::onnx::from_model(b.m, "many.onnx"), doctest::Contains("1048577 nodes (limit 1048576)"));
}

TEST_CASE("a crash in an isolated call is an outcome, not the end of the process") {
    const auto crashed = ktc::run_isolated([]() -> std::string {
        std::raise(SIGSEGV);  // what a wild read in the onnx library ends in
        return "unreachable";
    });
    CHECK(crashed.status == ktc::isolated_result::status::crashed);
    CHECK(crashed.why.find("crashed") != std::string::npos);
    const auto threw = ktc::run_isolated([]() -> std::string { throw std::runtime_error("bad node"); });
    CHECK(threw.status == ktc::isolated_result::status::threw);
    CHECK(threw.bytes == "bad node");
    const auto returned = ktc::run_isolated([] { return std::string(200000, 'x'); });
    CHECK(returned.status == ktc::isolated_result::status::returned);
    CHECK(returned.bytes.size() == 200000);
}

TEST_CASE("a Conv whose weight has rank 1 (it crashes onnx 1.12's shape inference) is a file error") {
    ktc::testing::model_builder b(13);
    b.input("x", {1, 3, 4, 4});
    b.output("y", {1, 4, 4, 4});
    b.node("Conv", {"x", "w"}, {"y"});
    ktc::testing::add_float_initializer(b, "w", {3}, {1.f, 2.f, 3.f});
    CHECK(code_of([&] { ktc::onnx::parse(b.bytes(), "conv.onnx"); }) == 4);
}
