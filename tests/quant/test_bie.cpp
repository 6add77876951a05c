// The .bie file: a quantized model survives a round trip exactly; truncated, bit-flipped,
// mislabelled and oversized files are rejected with file_error naming the file, never a crash.
#include <doctest/doctest.h>

#include <random>

#include "ktc/core/crc32.hpp"
#include "ktc/io/bie.hpp"
#include "ktc/sim/float_simulator.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

quant::bie_model small_model() {
    model_builder b(13);
    b.input("x", {1, 2, 4, 4});
    b.output("y", {1, 3, 4, 4});
    add_float_initializer(b, "w", {3, 2, 1, 1}, {0.5f, -1.f, 2.f, 0.25f, 0.125f, -0.75f});
    b.node("Conv", {"x", "w"}, {"c"})->set_name("conv");
    b.node("Sigmoid", {"c"}, {"y"})->set_name("sigmoid");
    const sim::float_simulator sim(ktc::onnx::parse(b.bytes(), "small.onnx"));
    const auto sample = [](std::size_t i) {
        tensor x(dtype::float32, {1, 2, 4, 4});
        for (std::int64_t k = 0; k < x.size(); ++k) x.data<float>()[k] = 0.05f * float((k + i) % 17) - 0.4f;
        return sim::tensor_map{{"x", x}};
    };
    const auto cal = quant::calibrate(sim, 4, sample);
    quant::bie_model m;
    m.platform = ktc::platform::chip::kdp520;
    m.graph = quant::quantize<platform::kdp520>(sim.graph(), cal, {});
    m.calibration_samples = cal.samples;
    m.source = "small.onnx";
    m.toolchain_version = "test";
    for (const auto& [name, r] : cal.ranges) m.statistics[name] = {r.min(), r.max(), r.max_abs()};
    return m;
}

void check_rejected(const std::string& bytes, const std::string& why) {
    CAPTURE(why);
    try {
        io::parse_bie(bytes, "m.bie");
        FAIL("accepted a bad file");
    } catch (const file_error& e) {
        CHECK(std::string(e.what()).find("m.bie") != std::string::npos);
        CHECK(std::string(e.what()).find('\n') == std::string::npos);
        CHECK(e.code() == exit_code::bad_file);
    }
}

}  // namespace

TEST_CASE("crc32 is the IEEE one") { CHECK(crc32("123456789") == 0xCBF43926u); }

TEST_CASE("a .bie round trip keeps the graph, every annotation, the options and the statistics") {
    const quant::bie_model m = small_model();
    const std::string bytes = io::serialize_bie(m);
    CHECK(bytes.substr(0, 8) == std::string("KTCBIE\r\n", 8));
    const quant::bie_model back = io::parse_bie(bytes, "m.bie");
    CHECK(back.platform == ktc::platform::chip::kdp520);
    CHECK(back.source == "small.onnx");
    CHECK(back.calibration_samples == 4);
    CHECK(back.options.bits == 8);
    CHECK(back.statistics.size() == m.statistics.size());
    CHECK(back.statistics.at("c").max == m.statistics.at("c").max);
    CHECK(back.graph.node_count() == m.graph.node_count());
    CHECK(fixed::edge_formats(back.graph).at("x").radix == fixed::edge_formats(m.graph).at("x").radix);
    const auto& conv = back.graph[*back.graph.find_node("conv")];
    CHECK(conv.attrs.get_ints(fixed::attr::weight_radix) ==
          m.graph[*m.graph.find_node("conv")].attrs.get_ints(fixed::attr::weight_radix));
    const tensor& w = *back.graph.initializer(conv.input(1));
    CHECK(w.type() == dtype::int8);
    const auto& lut = back.graph[*back.graph.find_node("sigmoid")].attrs.get_tensor(fixed::attr::lookup_table);
    CHECK(lut.size() == 256);
    CHECK(io::serialize_bie(back) == bytes);  // a fixed point: nothing lost, nothing added
}

TEST_CASE("truncated .bie files are rejected at every length") {
    const std::string bytes = io::serialize_bie(small_model());
    for (std::size_t n = 0; n < bytes.size(); n += std::max<std::size_t>(1, bytes.size() / 97))
        check_rejected(bytes.substr(0, n), "truncated to " + std::to_string(n));
    check_rejected(bytes + "x", "one byte appended");
}

TEST_CASE("bit flips anywhere are caught") {
    const std::string bytes = io::serialize_bie(small_model());
    std::mt19937 rng(5);
    for (int i = 0; i < 300; ++i) {
        std::string bad = bytes;
        const std::size_t at = rng() % bad.size();
        bad[at] = static_cast<char>(bad[at] ^ (1 << (rng() % 8)));
        check_rejected(bad, "bit flip at " + std::to_string(at));
    }
}

TEST_CASE("a well-formed file with lying lengths, a wrong version or a missing section is rejected") {
    const std::string bytes = io::serialize_bie(small_model());
    const auto with_crc = [](std::string b) {  // re-seal a tampered file so only the lie is wrong
        const std::uint32_t c = crc32(std::string_view(b).substr(0, b.size() - 4));
        std::memcpy(b.data() + b.size() - 4, &c, 4);
        return b;
    };
    std::string huge = bytes;
    const std::uint64_t big = std::uint64_t{1} << 62;
    std::memcpy(huge.data() + 16 + 8, &big, 8);  // the first section's length
    check_rejected(with_crc(huge), "section length 2^62");
    std::string version = bytes;
    version[8] = 9;
    check_rejected(with_crc(version), "version 9");
    std::string count = bytes;
    count[12] = 2;  // claims two sections: STAT is then missing
    check_rejected(with_crc(count), "missing section");
    std::string many = bytes;
    const std::uint32_t lots = 0xFFFFFFFFu;
    std::memcpy(many.data() + 12, &lots, 4);
    check_rejected(with_crc(many), "2^32 - 1 sections");
    std::string tag = bytes;
    tag[16] = 'X';
    check_rejected(with_crc(tag), "unknown tag instead of META");
    check_rejected(std::string(100, '\0'), "zeros");
    check_rejected("KTCBIE\r\n", "magic only");
}

TEST_CASE("a version 1 .bie (radices only, before the scales) still reads, as a power-of-two model") {
    const quant::bie_model m = small_model();
    std::string bytes = io::serialize_bie(m);
    CHECK(bytes[8] == char(io::bie_version));
    bytes[8] = 1;
    const std::uint32_t c = crc32(std::string_view(bytes).substr(0, bytes.size() - 4));
    std::memcpy(bytes.data() + bytes.size() - 4, &c, 4);
    const quant::bie_model old = io::parse_bie(bytes, "old.bie");
    CHECK(old.graph.nodes().size() == m.graph.nodes().size());
    CHECK(old.options.scales == m.options.scales);  // the META still names its policy; a real version 1 file has none
    bytes[8] = 0;
    const std::uint32_t c0 = crc32(std::string_view(bytes).substr(0, bytes.size() - 4));
    std::memcpy(bytes.data() + bytes.size() - 4, &c0, 4);
    CHECK_THROWS_AS(io::parse_bie(bytes, "zero.bie"), file_error);
}
