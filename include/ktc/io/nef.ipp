// ktc/io/nef.ipp - the definitions behind nef.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/io/nef.hpp"

namespace ktc::io {

namespace nef_detail {

KTC_DECL void put_str(std::string& out, std::string_view s) {
    put<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
    out.append(s);
}

KTC_DECL std::string compress(std::string_view raw) {
    std::string out;
    std::size_t i = 0;
    while (i < raw.size()) {
        std::size_t z = 0;
        while (i + z < raw.size() && raw[i + z] == 0 && z < 129) ++z;
        if (z >= 2) {
            out.push_back(static_cast<char>(z + 126));
            i += z;
            continue;
        }
        std::size_t lit = 0;
        while (i + lit < raw.size() && lit < 128 &&
               !(raw[i + lit] == 0 && i + lit + 1 < raw.size() && raw[i + lit + 1] == 0))
            ++lit;
        out.push_back(static_cast<char>(lit - 1));
        out.append(raw.substr(i, lit));
        i += lit;
    }
    return out;
}

KTC_DECL std::string decompress(std::string_view packed, std::uint64_t raw_length) {
    // One token byte expands to at most 129 zeros: a longer claimed length is a forged header (and
    // would reserve gigabytes for a few bytes).
    if (raw_length / 129 > packed.size())
        throw std::runtime_error("raw length " + std::to_string(raw_length) +
                                 " is more than the compressed bytes can hold");
    std::string out;
    out.reserve(raw_length);
    std::size_t i = 0;
    while (i < packed.size()) {
        const auto t = static_cast<std::uint8_t>(packed[i++]);
        if (t >= 128) {
            if (out.size() + (t - 126u) > raw_length)
                throw std::runtime_error("compressed weights expand past their length");
            out.append(t - 126u, '\0');
        } else {
            const std::size_t n = t + 1u;
            if (packed.size() - i < n) throw std::runtime_error("compressed weights end inside a literal run");
            if (out.size() + n > raw_length) throw std::runtime_error("compressed weights expand past their length");
            out.append(packed.substr(i, n));
            i += n;
        }
    }
    if (out.size() != raw_length) throw std::runtime_error("compressed weights expand to the wrong length");
    return out;
}

}  // namespace nef_detail
KTC_DECL std::string serialize_nef(const nef_file& f) {
    using namespace nef_detail;
    std::string head(nef_magic);
    put<std::uint32_t>(head, nef_version);
    put<std::uint32_t>(head, static_cast<std::uint32_t>(f.platform));
    put<std::uint32_t>(head, static_cast<std::uint32_t>(f.models.size()));
    put<std::uint32_t>(head, f.compress_weights ? nef_flag_compressed : 0u);
    const std::size_t lengths_at = head.size();
    put<std::uint64_t>(head, 0);
    put<std::uint64_t>(head, 0);
    put_str(head, f.toolchain_version);

    // The blobs as stored, and where each model's blob records sit in the header.
    std::vector<std::array<std::string, 3>> stored;
    std::vector<std::size_t> records;
    for (const auto& m : f.models) {
        put<std::uint32_t>(head, m.id);
        put<std::uint16_t>(head, m.version);
        put<std::uint16_t>(head, 0);
        put_str(head, m.name);
        put<std::uint64_t>(head, m.input_bytes);
        put<std::uint64_t>(head, m.output_bytes);
        put<std::uint64_t>(head, m.working_bytes);
        records.push_back(head.size());
        head.append(3 * 24, '\0');
        stored.push_back({m.commands, f.compress_weights ? compress(m.weights) : m.weights, m.setup});
        put<std::uint32_t>(head, static_cast<std::uint32_t>(m.inputs.size()));
        put<std::uint32_t>(head, static_cast<std::uint32_t>(m.outputs.size()));
        for (const auto* list : {&m.inputs, &m.outputs})
            for (const auto& t : *list) {
                put_str(head, t.name);
                put<std::uint8_t>(head, static_cast<std::uint8_t>(t.bits));
                put<std::uint8_t>(head, 0);
                put<std::int16_t>(head, static_cast<std::int16_t>(t.radix));
                put<float>(head, t.scale);
                put<std::uint32_t>(head, static_cast<std::uint32_t>(t.shape.size()));
                for (auto d : t.shape) put<std::int64_t>(head, d);
                put<std::uint64_t>(head, t.dram_offset);
            }
    }
    pad16(head);
    const std::uint64_t header_length = head.size();
    std::string out = head;
    for (std::size_t i = 0; i < f.models.size(); ++i) {
        const std::array<std::uint64_t, 3> raw = {f.models[i].commands.size(), f.models[i].weights.size(),
                                                  f.models[i].setup.size()};
        for (std::size_t b = 0; b < 3; ++b) {
            const std::uint64_t offset = out.size(), length = stored[i][b].size();
            std::memcpy(out.data() + records[i] + b * 24, &offset, 8);
            std::memcpy(out.data() + records[i] + b * 24 + 8, &length, 8);
            std::memcpy(out.data() + records[i] + b * 24 + 16, &raw[b], 8);
            out.append(stored[i][b]);
            pad16(out);
        }
    }
    const std::uint64_t file_length = out.size() + 4;
    std::memcpy(out.data() + lengths_at, &header_length, 8);
    std::memcpy(out.data() + lengths_at + 8, &file_length, 8);
    put<std::uint32_t>(out, crc32(out));
    return out;
}

KTC_DECL nef_file parse_nef(std::string_view bytes, const std::string& source) {
    using namespace nef_detail;
    const auto bad = [&](const std::string& what) { return file_error(source, "not a valid .nef file: " + what); };
    if (bytes.size() < 52) throw bad("too short (" + std::to_string(bytes.size()) + " bytes)");
    if (bytes.substr(0, nef_magic.size()) != nef_magic) throw bad("bad magic (not a ktc .nef file)");
    const auto stored_crc = get_at<std::uint32_t>(bytes, bytes.size() - 4);
    if (crc32(bytes.substr(0, bytes.size() - 4)) != stored_crc) throw bad("checksum mismatch (truncated or corrupted)");
    nef_file f;
    try {
        cursor c(bytes, 8, bytes.size() - 4);
        const auto version = c.get<std::uint32_t>("version");
        if (version < oldest_nef_version || version > nef_version)
            throw std::runtime_error("format version " + std::to_string(version) + " (this ktc reads versions " +
                                     std::to_string(oldest_nef_version) + " to " + std::to_string(nef_version) + ")");
        const auto number = c.get<std::uint32_t>("platform");
        const auto chip = platform::chip_spelled(std::to_string(number));
        if (!chip) throw std::runtime_error("platform " + std::to_string(number));
        f.platform = *chip;
        const auto count = c.get<std::uint32_t>("model count");
        if (count == 0 || count > compiler::max_nef_models)
            throw std::runtime_error("model count " + std::to_string(count));
        const auto flags = c.get<std::uint32_t>("flags");
        if (flags & ~nef_flag_compressed) throw std::runtime_error("unknown flags " + std::to_string(flags));
        f.compress_weights = flags & nef_flag_compressed;
        const auto header_length = c.get<std::uint64_t>("header length");
        const auto file_length = c.get<std::uint64_t>("file length");
        if (file_length != bytes.size())
            throw std::runtime_error("file length field says " + std::to_string(file_length) + " bytes, the file has " +
                                     std::to_string(bytes.size()));
        if (header_length % 16 || header_length > bytes.size() - 4 || header_length < c.at())
            throw std::runtime_error("header length " + std::to_string(header_length));
        c = cursor(bytes, c.at(), header_length);
        f.toolchain_version = c.str("toolchain version", 64);
        std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
        std::set<std::uint32_t> ids;
        for (std::uint32_t i = 0; i < count; ++i) {
            nef_model m;
            m.id = c.get<std::uint32_t>("model id");
            const std::string where = "model " + std::to_string(m.id);
            if (m.id == 0 || !ids.insert(m.id).second) throw std::runtime_error(where + ": id is zero or repeated");
            m.version = c.get<std::uint16_t>("model version");
            if (c.get<std::uint16_t>("reserved") != 0) throw std::runtime_error(where + ": reserved field not zero");
            m.name = c.str("model name", 4096);
            m.input_bytes = c.get<std::uint64_t>("input area");
            m.output_bytes = c.get<std::uint64_t>("output area");
            m.working_bytes = c.get<std::uint64_t>("working area");
            for (auto area : {m.input_bytes, m.output_bytes, m.working_bytes})
                if (area > max_nef_bytes * 4 || area % 16)
                    throw std::runtime_error(where + ": DRAM area of " + std::to_string(area) + " bytes");
            std::array<std::string*, 3> blobs = {&m.commands, &m.weights, &m.setup};
            const char* blob_names[] = {"commands", "weights", "setup"};
            for (std::size_t b = 0; b < 3; ++b) {
                const auto offset = c.get<std::uint64_t>("blob offset");
                const auto length = c.get<std::uint64_t>("blob length");
                const auto raw = c.get<std::uint64_t>("blob raw length");
                const std::string what = where + " " + blob_names[b];
                if (offset % 16 || offset < header_length || offset > bytes.size() - 4 ||
                    length > bytes.size() - 4 - offset)
                    throw std::runtime_error(what + ": offset " + std::to_string(offset) + " length " +
                                             std::to_string(length) + " outside the file or misaligned");
                spans.emplace_back(offset, offset + length);
                const auto data = bytes.substr(offset, length);
                if (b == 1 && f.compress_weights) {
                    if (raw > max_nef_bytes * 4) throw std::runtime_error(what + ": raw length " + std::to_string(raw));
                    *blobs[b] = decompress(data, raw);
                } else {
                    if (raw != length) throw std::runtime_error(what + ": raw length differs from the stored length");
                    *blobs[b] = std::string(data);
                }
            }
            const auto n_in = c.get<std::uint32_t>("input count"), n_out = c.get<std::uint32_t>("output count");
            if (n_in == 0 || n_in > 256 || n_out == 0 || n_out > 256)
                throw std::runtime_error(where + ": input/output count");
            for (std::uint32_t k = 0; k < n_in + n_out; ++k) {
                nef_tensor t;
                t.name = c.str("tensor name", 4096);
                t.bits = c.get<std::uint8_t>("tensor bits");
                if (c.get<std::uint8_t>("reserved") != 0) throw std::runtime_error(where + ": reserved field not zero");
                t.radix = c.get<std::int16_t>("tensor radix");
                t.scale = c.get<float>("tensor scale");
                const auto rank = c.get<std::uint32_t>("tensor rank");
                if (t.name.empty() || (t.bits != 8 && t.bits != 16) || rank > 8 || !(t.scale > 0))
                    throw std::runtime_error(where + ": tensor '" + t.name + "' has a bad name, width, rank or scale");
                for (std::uint32_t d = 0; d < rank; ++d) {
                    t.shape.push_back(c.get<std::int64_t>("tensor dims"));
                    if (t.shape.back() <= 0 || t.shape.back() > (1 << 24))
                        throw std::runtime_error(where + ": tensor '" + t.name + "' dims");
                }
                t.dram_offset = c.get<std::uint64_t>("tensor offset");
                if (t.dram_offset % 16 || t.dram_offset >= (k < n_in ? m.input_bytes : m.output_bytes))
                    throw std::runtime_error(where + ": tensor '" + t.name + "' DRAM offset outside its area");
                (k < n_in ? m.inputs : m.outputs).push_back(std::move(t));
            }
            // The command stream and the setup plan agree.
            try {
                const auto cmds = compiler::decode_commands(m.commands, where);
                const auto setup = compiler::split_setup(m.setup, where);
                compiler::check_commands(cmds, setup.plan);
            } catch (const std::exception& e) {
                throw std::runtime_error(where + ": " + e.what());
            }
            f.models.push_back(std::move(m));
        }
        for (std::size_t at = c.at(); at < header_length; ++at)
            if (bytes[at] != 0) throw std::runtime_error("header padding not zero");
        std::sort(spans.begin(), spans.end());
        for (std::size_t i = 1; i < spans.size(); ++i)
            if (spans[i].first < spans[i - 1].second) throw std::runtime_error("blobs overlap");
    } catch (const file_error&) {
        throw;
    } catch (const std::exception& e) {
        throw bad(e.what());
    }
    return f;
}

KTC_DECL nef_file load_nef(const std::filesystem::path& path) {
    return parse_nef(read_whole_file(path, max_nef_bytes, "a .nef file"), path.string());
}

}  // namespace ktc::io
