//! On-disk voxel types shared by the NIfTI and MetaImage codecs.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
}

impl ScalarType {
    pub fn size(self) -> usize {
        match self {
            ScalarType::U8 | ScalarType::I8 => 1,
            ScalarType::U16 | ScalarType::I16 => 2,
            ScalarType::U32 | ScalarType::I32 | ScalarType::F32 => 4,
            ScalarType::U64 | ScalarType::I64 | ScalarType::F64 => 8,
        }
    }

    /// Decodes `bytes` (a whole number of elements) into f32 values.
    pub fn decode(self, bytes: &[u8], big_endian: bool) -> Vec<f32> {
        let n = self.size();
        let mut out = Vec::with_capacity(bytes.len() / n);
        macro_rules! run {
            ($t:ty) => {
                for c in bytes.chunks_exact(n) {
                    let arr: [u8; std::mem::size_of::<$t>()] = c.try_into().expect("chunk size");
                    let v = if big_endian {
                        <$t>::from_be_bytes(arr)
                    } else {
                        <$t>::from_le_bytes(arr)
                    };
                    out.push(v as f32);
                }
            };
        }
        match self {
            ScalarType::U8 => out.extend(bytes.iter().map(|&b| b as f32)),
            ScalarType::I8 => out.extend(bytes.iter().map(|&b| b as i8 as f32)),
            ScalarType::U16 => run!(u16),
            ScalarType::I16 => run!(i16),
            ScalarType::U32 => run!(u32),
            ScalarType::I32 => run!(i32),
            ScalarType::U64 => run!(u64),
            ScalarType::I64 => run!(i64),
            ScalarType::F32 => run!(f32),
            ScalarType::F64 => run!(f64),
        }
        out
    }
}

/// A voxel type this project writes.
pub trait Element: Copy {
    const TYPE: ScalarType;
    fn put_le(self, out: &mut Vec<u8>);
}

impl Element for u8 {
    const TYPE: ScalarType = ScalarType::U8;
    fn put_le(self, out: &mut Vec<u8>) {
        out.push(self);
    }
}

impl Element for i16 {
    const TYPE: ScalarType = ScalarType::I16;
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Element for f32 {
    const TYPE: ScalarType = ScalarType::F32;
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

pub fn encode_le<T: Element>(data: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * T::TYPE.size());
    for &v in data {
        v.put_le(&mut out);
    }
    out
}
