//! The hash value type. (Stub: filled in by the collections work.)

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hash {}

impl Hash {
    /// OBJECT ENCODING's answer.
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }

    pub fn len(&self) -> usize {
        0
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned, for memory accounting.
    pub fn heap_size(&self) -> usize {
        0
    }
}
