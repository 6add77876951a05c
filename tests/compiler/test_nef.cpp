// The .nef file and its simulator: a compiled model round-trips through the file, every
// truncation, random bit flips and oversized files are rejected with file_error naming the file,
// combine keeps every model and rejects clashes, and the command-stream simulator equals the
// .bie simulator bit for bit, also when a tiny on-chip memory forces every layer into tiles.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "compiler/small_model.hpp"
#include "ktc/compiler/combine.hpp"
#include "ktc/compiler/compile.hpp"
#include "ktc/sim/fixed_simulator.hpp"
#include "ktc/compiler/nef_simulator.hpp"
#include "ktc/io/nef.hpp"

using namespace ktc;
using namespace ktc::compiler;
using namespace ktc::io;

namespace {

template <class P>
quant::bie_model small_bie() {
    quant::bie_model b;
    b.platform = platform::platform_traits<P>::id;
    b.graph = testing::small_quantized_model<P>();
    return b;
}

template <class P>
nef_file small_nef(std::uint32_t id, std::uint64_t onchip = 0, bool compress = false) {
    compiler::compile_options o;  // (ktc::compile_options is the API's)
    o.tiling.onchip_bytes = onchip;
    nef_file f;
    f.platform = platform::platform_traits<P>::id;
    f.toolchain_version = "test";
    f.compress_weights = compress;
    f.models.push_back(compile_model<P>(small_bie<P>(), id, 0x0001, "small", o).model);
    return f;
}

bool same_bits(const tensor& a, const tensor& b) {
    return a.type() == b.type() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.byte_size()) == 0;
}

}  // namespace

TEST_CASE_TEMPLATE("the nef simulator equals the bie simulator bit for bit, tiled or not", P, platform::kdp520,
                   platform::kdp720) {
    const auto bie = small_bie<P>();
    const sim::fixed_simulator reference(graph::graph(bie.graph));
    for (std::uint64_t onchip : {std::uint64_t{0}, std::uint64_t{64}, std::uint64_t{700}}) {
        for (bool compress : {false, true}) {
            const nef_file f = small_nef<P>(40000, onchip, compress);
            const nef_file back = parse_nef(serialize_nef(f), "mem.nef");
            const compiler::nef_simulator nef(back.models.at(0), "mem.nef");
            for (std::size_t i = 0; i < 3; ++i) {
                const auto want = reference.run(testing::small_sample(i));
                const auto got = nef.run(testing::small_sample(i));
                REQUIRE(got.size() == want.size());
                for (const auto& [name, t] : want) CHECK_MESSAGE(same_bits(got.at(name), t), name, " onchip ", onchip);
            }
        }
    }
    // with a radix override the same holds
    const sim::fixed_simulator ref5(graph::graph(bie.graph), 5);
    const nef_file f = small_nef<P>(40000, 64);
    const compiler::nef_simulator nef5(f.models.at(0), "mem.nef", 5);
    const auto want = ref5.run(testing::small_sample(1));
    CHECK(same_bits(nef5.run(testing::small_sample(1)).at("y"), want.at("y")));
}

namespace {

// PRelu as MTCNN uses it: after a Conv (in the MAC layer's output stage), after an Add (an
// element-wise layer of its own) and after a Gemm (a [C] slope on a 2-D tensor).
graph::graph prelu_float_model() {
    using namespace ktc::testing;
    model_builder b(13);
    b.input("x", {1, 3, 17, 12});
    b.output("y", {1, 5});
    const auto values = [](std::size_t n, float scale) {
        std::vector<float> w(n);
        for (std::size_t i = 0; i < n; ++i) w[i] = scale * (float((i * 37) % 19) / 9.f - 1.f);
        return w;
    };
    add_float_initializer(b, "w1", {8, 3, 3, 3}, values(8 * 27, 0.4f));
    add_float_initializer(b, "b1", {8}, values(8, 0.1f));
    add_float_initializer(b, "s1", {8, 1, 1}, values(8, 0.3f));
    add_float_initializer(b, "w2", {8, 8, 3, 3}, values(8 * 72, 0.2f));
    add_float_initializer(b, "s2", {8, 1, 1}, values(8, 0.5f));
    add_float_initializer(b, "wg", {5, 8}, values(40, 0.5f));
    add_float_initializer(b, "s3", {5}, values(5, 0.2f));
    auto* c1 = b.node("Conv", {"x", "w1", "b1"}, {"c1"});
    c1->set_name("conv1");
    set_ints(c1, "pads", {1, 1, 1, 1});
    b.node("PRelu", {"c1", "s1"}, {"p1"})->set_name("prelu1");
    auto* c2 = b.node("Conv", {"p1", "w2"}, {"c2"});
    c2->set_name("conv2");
    set_ints(c2, "pads", {1, 1, 1, 1});
    b.node("Add", {"c2", "p1"}, {"a"})->set_name("add");
    b.node("PRelu", {"a", "s2"}, {"p2"})->set_name("prelu2");
    b.node("GlobalAveragePool", {"p2"}, {"g"})->set_name("gap");
    b.node("Flatten", {"g"}, {"f"})->set_name("flatten");
    auto* gemm = b.node("Gemm", {"f", "wg"}, {"l"});
    gemm->set_name("gemm");
    set_int(gemm, "transB", 1);
    b.node("PRelu", {"l", "s3"}, {"y"})->set_name("prelu3");
    return ktc::onnx::parse(b.bytes(), "prelu_model.onnx");
}

}  // namespace

TEST_CASE_TEMPLATE("PRelu's per-channel slope runs in the nef simulator bit for bit as in the bie one", P,
                   platform::kdp520, platform::kdp720) {
    const sim::float_simulator sim(prelu_float_model());
    const auto cal = quant::calibrate(sim, 4, testing::small_sample);
    quant::bie_model bie;
    bie.platform = platform::platform_traits<P>::id;
    bie.graph = quant::quantize<P>(sim.graph(), cal, quant::quantize_options{});
    const sim::fixed_simulator reference(graph::graph(bie.graph));
    for (std::uint64_t onchip : {std::uint64_t{0}, std::uint64_t{64}}) {
        compiler::compile_options o;
        o.tiling.onchip_bytes = onchip;
        nef_file f;
        f.platform = bie.platform;
        f.toolchain_version = "test";
        f.models.push_back(compile_model<P>(bie, 40001, 0x0001, "prelu", o).model);
        const nef_file back = parse_nef(serialize_nef(f), "prelu.nef");
        const compiler::nef_simulator nef(back.models.at(0), "prelu.nef");
        for (std::size_t i = 0; i < 3; ++i) {
            const auto want = reference.run(testing::small_sample(i));
            const auto got = nef.run(testing::small_sample(i));
            CHECK_MESSAGE(same_bits(got.at("y"), want.at("y")), "onchip ", onchip);
        }
    }
}

TEST_CASE("a tiny on-chip memory splits layers into many tiles") {
    const nef_file big = small_nef<platform::kdp520>(40000), tiny = small_nef<platform::kdp520>(40000, 64);
    const auto count = [](const nef_file& f) {
        std::size_t n = 0;
        for (const auto& c : decode_commands(f.models[0].commands, "x")) n += c.op == opcode::run_layer;
        return n;
    };
    CHECK(count(tiny) > count(big) + 10);
}

TEST_CASE("a .nef round-trips every field") {
    nef_file f = small_nef<platform::kdp720>(32768, 0, true);
    f.models.push_back(small_nef<platform::kdp720>(32769).models[0]);
    f.models.back().version = 0xbeef;
    f.models.back().name = "second";
    const std::string bytes = serialize_nef(f);
    CHECK(bytes.size() % 16 == 4);
    const nef_file back = parse_nef(bytes, "x.nef");
    CHECK(back.platform == ktc::platform::chip::kdp720);
    CHECK(back.toolchain_version == "test");
    CHECK(back.compress_weights);
    REQUIRE(back.models.size() == 2);
    CHECK(back.models[0] == f.models[0]);
    CHECK(back.models[1] == f.models[1]);
    CHECK(version_string(back.models[1].version) == "beef");
    CHECK(back.models[0].inputs.at(0).name == "x");
    CHECK(back.models[0].inputs.at(0).shape == shape_t{1, 3, 17, 12});
    CHECK(back.models[0].outputs.at(0).shape == shape_t{1, 5});
    CHECK(serialize_nef(back) == bytes);
}

TEST_CASE("truncated, bit-flipped and oversized .nef files are rejected with file_error naming the file") {
    const std::string bytes = serialize_nef(small_nef<platform::kdp520>(32768));
    for (std::size_t n = 0; n < bytes.size(); n += (n < 256 ? 1 : 97)) {
        try {
            parse_nef(std::string_view(bytes).substr(0, n), "cut.nef");
            FAIL("a truncated file was accepted at " << n);
        } catch (const file_error& e) {
            CHECK(std::string(e.what()).rfind("cut.nef: ", 0) == 0);
        }
    }
    std::mt19937 rng(7);
    for (int i = 0; i < 300; ++i) {
        std::string flipped = bytes;
        const std::size_t at = rng() % flipped.size();
        flipped[at] = static_cast<char>(flipped[at] ^ (1 << (rng() % 8)));
        CHECK_THROWS_AS(parse_nef(flipped, "flip.nef"), file_error);
    }
    // a consistent CRC over a damaged header still fails the field checks
    std::string forged = bytes;
    forged[12] = 7;  // platform 0x207
    const std::uint32_t crc = crc32(std::string_view(forged).substr(0, forged.size() - 4));
    std::memcpy(forged.data() + forged.size() - 4, &crc, 4);
    CHECK_THROWS_WITH_AS(parse_nef(forged, "forged.nef"), doctest::Contains("platform 519"), file_error);
    // oversized: refused before anything is read
    const auto path = std::filesystem::temp_directory_path() / ("ktc_oversized_" + std::to_string(::getpid()) + ".nef");
    { std::ofstream(path, std::ios::binary) << bytes; }
    std::filesystem::resize_file(path, max_nef_bytes + 1);
    CHECK_THROWS_WITH_AS(load_nef(path), doctest::Contains("too large"), file_error);
    std::filesystem::remove(path);
}

TEST_CASE("combine keeps every model and rejects mixed platforms and clashing ids") {
    const nef_file a = small_nef<platform::kdp520>(32768), b = small_nef<platform::kdp520>(32769);
    const nef_file both = combine_nefs({{"a.nef", a}, {"b.nef", b}}, "test");
    REQUIRE(both.models.size() == 2);
    CHECK(both.models[0] == a.models[0]);
    CHECK(both.models[1] == b.models[0]);
    CHECK(parse_nef(serialize_nef(both), "both.nef").models.size() == 2);
    CHECK_THROWS_WITH_AS(combine_nefs({{"a.nef", a}, {"a2.nef", a}}, "t"),
                         doctest::Contains("32768 is in both a.nef and a2.nef"), usage_error);
    const nef_file c = small_nef<platform::kdp720>(32770);
    CHECK_THROWS_WITH_AS(combine_nefs({{"a.nef", a}, {"c.nef", c}}, "t"), doctest::Contains("platform 720"),
                         usage_error);
    // a model of a combined file runs as it did alone
    const compiler::nef_simulator alone(b.models[0], "b.nef"), combined(both.models[1], "both.nef");
    CHECK(same_bits(alone.run(testing::small_sample(2)).at("y"), combined.run(testing::small_sample(2)).at("y")));
}

TEST_CASE("command streams: framing is checked") {
    const std::vector<command> cmds = {{opcode::load_tile, 1, 2, 3}, {opcode::end, 0, 0, 0}};
    const std::string bytes = encode_commands(cmds);
    CHECK(bytes.size() == 32);
    CHECK(decode_commands(bytes, "s") == cmds);
    CHECK_THROWS(decode_commands(bytes.substr(0, 31), "s"));
    CHECK_THROWS(decode_commands(bytes.substr(0, 16), "s"));  // no END
    std::string bad = bytes;
    bad[0] = 9;
    CHECK_THROWS_WITH(decode_commands(bad, "s"), doctest::Contains("unknown opcode"));
    CHECK_THROWS(decode_commands(bytes + bytes, "s"));  // END not last
}
