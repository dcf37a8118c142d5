internal import CYaml
import Yams

/// YAML (and JSON, which is YAML) read within bounds: the one way Portcullis reads YAML, for the
/// configuration file and for every importer.
///
/// A YAML document can be small and still expand without limit: aliases to aliases ("billion laughs")
/// turn 1 KB into gigabytes when converted to values, and deep nesting exhausts the stack of a
/// recursive reader. So before Yams builds anything, the text's events are walked once, without
/// recursion, and the document is refused when it is longer than ``maximumBytes``, nests deeper than
/// ``maximumDepth``, or would have more than ``maximumNodes`` nodes once every alias is expanded.
/// A mapping key that is a list or a mapping is refused too: Yams traps on it when building values.
///
/// ```swift
/// let root = try BoundedYAML.load(text, what: "portcullis.yml") as? [String: Any]
/// ```
public enum BoundedYAML {
    /// The longest text read, 1 MiB.
    public static let maximumBytes = 1 << 20
    /// The deepest nesting of lists and mappings read.
    public static let maximumDepth = 64
    /// The most nodes (scalars, lists, mappings) a document may have with its aliases expanded: as
    /// many as a plain document of ``maximumBytes`` can have (`[1,1,…]`), so aliases buy nothing.
    public static let maximumNodes = maximumBytes / 2

    /// The first document of `text` as Yams values (`[String: Any]`, `[Any]`, `String`, `Int`, ...).
    /// - Parameter what: names the input in messages, like "the configuration file".
    /// - Throws: ``CoreError/Code/inputOutOfBounds`` for a document beyond the bounds; Yams' error for
    ///   text that is not YAML.
    public static func load(_ text: String, what: String) throws -> Any? {
        try check(text, what: what)
        return try Yams.load(yaml: text)
    }

    /// Walks the events of `text`, refusing it when it goes beyond a bound. Syntax errors are left
    /// for Yams to report; Yams stops at the same place, so it never reads further than this walk did.
    static func check(_ text: String, what: String) throws {
        let byteCount = text.utf8.count
        guard byteCount <= maximumBytes else {
            throw CoreError(.inputOutOfBounds, "\(what) is \(byteCount) bytes long; at most \(maximumBytes) are read.")
        }
        var bytes = Array(text.utf8)
        if bytes.isEmpty { return }
        var walk = Walk()
        let problem: String? = bytes.withUnsafeMutableBufferPointer { buffer in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return "cannot be read (out of memory)" }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return nil }
                if let problem = walk.take(event) { return problem }
            }
            return nil
        }
        if let problem { throw CoreError(.inputOutOfBounds, "\(what) \(problem).") }
    }

    /// The state of the walk: open collections, the expanded size of each anchor, the total so far.
    private struct Walk {
        /// For each open list or mapping: its anchor, its expanded size so far (itself included), and
        /// for a mapping, whether its next node is a key.
        var open: [(anchor: String?, size: Int, nextIsKey: Bool?)] = []
        /// The expanded size of each anchored node seen, and whether it is a scalar; aliases to it cost that much again.
        var anchors: [String: (size: Int, scalar: Bool)] = [:]
        var total = 0

        /// Accounts for one event; a message when a bound is passed.
        mutating func take(_ event: yaml_event_t) -> String? {
            switch event.type {
            case YAML_SCALAR_EVENT:
                _ = takesPlace(scalar: true)
                return finish(anchor: Self.text(event.data.scalar.anchor), size: 1, scalar: true)
            case YAML_ALIAS_EVENT:
                // An alias to an unknown anchor is Yams' error to report; here it counts as one node.
                let target = Self.text(event.data.alias.anchor).flatMap { anchors[$0] } ?? (1, true)
                if let problem = takesPlace(scalar: target.scalar) { return problem }
                return finish(anchor: nil, size: target.size, scalar: target.scalar)
            case YAML_SEQUENCE_START_EVENT:
                if let problem = takesPlace(scalar: false) { return problem }
                return start(anchor: Self.text(event.data.sequence_start.anchor), mapping: false)
            case YAML_MAPPING_START_EVENT:
                if let problem = takesPlace(scalar: false) { return problem }
                return start(anchor: Self.text(event.data.mapping_start.anchor), mapping: true)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let collection = open.popLast() else { return nil }
                // Its size was added to the total as it grew; only the parent and the anchor learn it now.
                return finish(anchor: collection.anchor, size: collection.size, scalar: false, counted: true)
            default:
                return nil
            }
        }

        /// A node takes its place in the open collection: in a mapping, keys and values alternate, and a key must be a scalar.
        private mutating func takesPlace(scalar: Bool) -> String? {
            guard let index = open.indices.last, let nextIsKey = open[index].nextIsKey else { return nil }
            open[index].nextIsKey = !nextIsKey
            return nextIsKey && !scalar ? "has a mapping key that is a list or a mapping" : nil
        }

        private mutating func start(anchor: String?, mapping: Bool) -> String? {
            guard open.count < BoundedYAML.maximumDepth else {
                return "nests lists and mappings deeper than \(BoundedYAML.maximumDepth) levels"
            }
            open.append((anchor, 1, mapping ? true : nil))
            return add(1)
        }

        /// A node of `size` expanded nodes is complete: it joins its parent, and its anchor is remembered.
        private mutating func finish(anchor: String?, size: Int, scalar: Bool, counted: Bool = false) -> String? {
            if let anchor { anchors[anchor] = (size, scalar) }
            if !open.isEmpty { open[open.count - 1].size += size }
            return counted ? nil : add(size)
        }

        private mutating func add(_ size: Int) -> String? {
            total += size
            guard total <= BoundedYAML.maximumNodes else {
                return "has more than \(BoundedYAML.maximumNodes) values once its aliases are expanded"
            }
            return nil
        }

        private static func text(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            pointer.map { String(cString: $0) }
        }
    }
}
