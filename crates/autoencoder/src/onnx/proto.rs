//! The protobuf wire encoding of the ONNX messages the exporter writes: `ModelProto`,
//! `GraphProto`, `NodeProto`, `AttributeProto`, `TensorProto`, `ValueInfoProto` and the
//! types they hold, with the field numbers of the official `onnx.proto` (onnx 1.17).
//!
//! Written by hand (ARCHITECTURE says why): an encoder only ever appends a field's key
//! (`field << 3 | wire type`), then a varint, a fixed 32-bit value, or a length and the
//! bytes; a message inside a message is its bytes behind a length. Reading ONNX is not
//! needed. The tests check the bytes against protobuf's documented encodings; the
//! Python tests load every exported file with `onnx.checker` and ONNX Runtime.

/// Protobuf wire types.
const VARINT: u8 = 0;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// A message being built: its encoded fields, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message(Vec<u8>);

impl Message {
    /// An empty message.
    pub fn new() -> Self {
        Message(Vec::new())
    }

    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }

    /// An `int32`, `int64` or enum field (a negative value takes ten bytes, as protobuf
    /// encodes it).
    pub fn int(&mut self, field: u32, v: i64) -> &mut Self {
        self.key(field, VARINT);
        self.varint(v as u64);
        self
    }

    /// A `float` field.
    pub fn float(&mut self, field: u32, v: f32) -> &mut Self {
        self.key(field, FIXED32);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A `bytes` field.
    pub fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Self {
        self.key(field, LEN);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }

    /// A `string` field.
    pub fn string(&mut self, field: u32, s: &str) -> &mut Self {
        self.bytes(field, s.as_bytes())
    }

    /// A message field.
    pub fn message(&mut self, field: u32, m: &Message) -> &mut Self {
        self.bytes(field, &m.0)
    }

    /// A repeated `int64` field, packed (one length-delimited run of varints).
    pub fn packed_ints(&mut self, field: u32, vs: &[i64]) -> &mut Self {
        let mut run = Message::new();
        for &v in vs {
            run.varint(v as u64);
        }
        self.bytes(field, &run.0)
    }
}

/// `TensorProto.DataType` values used here.
pub mod data_type {
    /// 32-bit float.
    pub const FLOAT: i64 = 1;
    /// 64-bit signed integer.
    pub const INT64: i64 = 7;
}

/// A `TensorProto` named `name` with `dims`, its values as little-endian `raw_data`.
pub fn tensor_f32(name: &str, dims: &[usize], values: &[f32]) -> Message {
    let mut raw = Vec::with_capacity(values.len() * 4);
    for v in values {
        raw.extend_from_slice(&v.to_le_bytes());
    }
    tensor(name, dims, data_type::FLOAT, &raw)
}

/// A `TensorProto` of 64-bit integers.
pub fn tensor_i64(name: &str, dims: &[usize], values: &[i64]) -> Message {
    let mut raw = Vec::with_capacity(values.len() * 8);
    for v in values {
        raw.extend_from_slice(&v.to_le_bytes());
    }
    tensor(name, dims, data_type::INT64, &raw)
}

fn tensor(name: &str, dims: &[usize], elem: i64, raw: &[u8]) -> Message {
    let mut t = Message::new();
    let dims: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
    t.packed_ints(1, &dims) // dims
        .int(2, elem) // data_type
        .string(8, name) // name
        .bytes(9, raw); // raw_data
    t
}

/// One dimension of a value's shape: a fixed size, or a named one (the batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim<'a> {
    /// A fixed size.
    Value(usize),
    /// A size given at run time, by name.
    Param(&'a str),
}

/// A `ValueInfoProto`: a graph input or output, a float tensor of shape `dims`.
pub fn value_info(name: &str, dims: &[Dim<'_>]) -> Message {
    let mut shape = Message::new();
    for d in dims {
        let mut dim = Message::new();
        match *d {
            Dim::Value(v) => dim.int(1, v as i64), // dim_value
            Dim::Param(p) => dim.string(2, p),     // dim_param
        };
        shape.message(1, &dim);
    }
    let mut tensor_type = Message::new();
    tensor_type.int(1, data_type::FLOAT).message(2, &shape); // elem_type, shape
    let mut ty = Message::new();
    ty.message(1, &tensor_type); // TypeProto.tensor_type
    let mut v = Message::new();
    v.string(1, name).message(2, &ty);
    v
}

/// A node attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr<'a> {
    /// `INT`.
    Int(i64),
    /// `FLOAT`.
    Float(f32),
    /// `STRING`.
    Str(&'a str),
    /// `INTS`.
    Ints(Vec<i64>),
}

/// A `NodeProto`: `op` from `inputs` to `outputs`, named `name`.
pub fn node(op: &str, inputs: &[&str], outputs: &[&str], name: &str, attrs: &[(&str, Attr<'_>)]) -> Message {
    let mut n = Message::new();
    for i in inputs {
        n.string(1, i);
    }
    for o in outputs {
        n.string(2, o);
    }
    n.string(3, name).string(4, op);
    for (key, value) in attrs {
        let mut a = Message::new();
        a.string(1, key);
        // AttributeProto: f = 2, i = 3, s = 4, ints = 8; type = 20 (FLOAT 1, INT 2,
        // STRING 3, INTS 7).
        match value {
            Attr::Float(f) => a.float(2, *f).int(20, 1),
            Attr::Int(i) => a.int(3, *i).int(20, 2),
            Attr::Str(s) => a.string(4, s).int(20, 3),
            Attr::Ints(v) => a.packed_ints(8, v).int(20, 7),
        };
        n.message(5, &a);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_keys_follow_the_protobuf_encoding() {
        // protobuf's documentation: field 1 = 150 is 08 96 01.
        let mut m = Message::new();
        m.int(1, 150);
        assert_eq!(m.clone().into_bytes(), [0x08, 0x96, 0x01]);
        // A negative int64 is ten bytes of two's complement.
        let mut m = Message::new();
        m.int(1, -1);
        assert_eq!(m.into_bytes(), [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        // field 2 = "testing" is 12 07 74 65 73 74 69 6e 67.
        let mut m = Message::new();
        m.string(2, "testing");
        assert_eq!(m.into_bytes(), [0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']);
        // Packed repeated field 4 = [3, 270, 86942] is 22 06 03 8e 02 9e a7 05.
        let mut m = Message::new();
        m.packed_ints(4, &[3, 270, 86942]);
        assert_eq!(m.into_bytes(), [0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05]);
        // A float is its four little-endian bytes behind wire type 5.
        let mut m = Message::new();
        m.float(2, 1.0);
        assert_eq!(m.into_bytes(), [0x15, 0x00, 0x00, 0x80, 0x3f]);
    }

    #[test]
    fn a_tensor_holds_its_dims_type_name_and_raw_values() {
        let t = tensor_f32("w", &[2], &[1.0, -2.0]).into_bytes();
        let mut want = vec![0x0a, 0x01, 0x02, 0x10, 0x01, 0x42, 0x01, b'w', 0x4a, 0x08];
        want.extend_from_slice(&1.0f32.to_le_bytes());
        want.extend_from_slice(&(-2.0f32).to_le_bytes());
        assert_eq!(t, want);
        // A field number above 15 takes a two-byte key: AttributeProto.type (20) is a0 01.
        let n = node("Relu", &["x"], &["y"], "r", &[("alpha", Attr::Int(3))]).into_bytes();
        assert!(n.windows(3).any(|w| w == [0xa0, 0x01, 0x02]));
    }
}
