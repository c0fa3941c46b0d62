//! Version 6 decoded in place: each field read straight into the caller's [`Message`].
//!
//! A function's record is ~1.5 KB at full capacity (bounds, counts and callers are
//! fixed-capacity, so no frame can make the decoder allocate). Built by serde's derived
//! visitors, it was moved whole at every return on its way out — a wire type, its conversion to
//! the record, the enum around it: a third of a bridge's instructions per dump went to
//! `memcpy`. Seeds ([`DeserializeSeed`]) write into the record where it will stay instead.
//!
//! The layout read is exactly what the derived encoders in the parent module write (postcard:
//! a struct is its fields in order, an enum a varint variant index then its fields).

use super::{BeginV6, CallerWire, Since, NO_BUILD, PRESETS};
use crate::frame::{Begin, ChangedRecord, FunctionRecord, Message, MAX_BOUNDS};
use core::{fmt, marker::PhantomData};
use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, Error as _, SeqAccess, Unexpected, VariantAccess,
};
use serde::Deserialize;

/// Decodes one version 6 message from `bytes` into `out`; the bytes after it.
pub(in crate::frame) fn decode_into<'a>(
    bytes: &'a [u8],
    out: &mut Message<'a>,
) -> postcard::Result<&'a [u8]> {
    let mut de = postcard::Deserializer::from_bytes(bytes);
    InPlace(out).deserialize(&mut de)?;
    de.finalize()
}

/// A seed that decodes into the value it borrows (the record, its bounds, its counts, …).
struct InPlace<'o, T>(&'o mut T);

/// The next of a sequence's `at`-th element, through `seed`.
fn next_seed<'de, S: DeserializeSeed<'de>, A: SeqAccess<'de>>(
    seq: &mut A,
    at: &mut usize,
    seed: S,
) -> Result<S::Value, A::Error> {
    let i = *at;
    *at += 1;
    seq.next_element_seed(seed)?.ok_or_else(|| A::Error::invalid_length(i, &"a version 6 message"))
}

/// The next element, by value (the small ones).
fn next<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(seq: &mut A, at: &mut usize) -> Result<T, A::Error> {
    next_seed(seq, at, PhantomData)
}

/// Implements `Visitor::expecting` for a seed.
macro_rules! expecting {
    ($what:literal) => {
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str($what)
        }
    };
}

impl<'de> DeserializeSeed<'de> for InPlace<'_, Message<'de>> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_enum("Message", &["Begin", "Function", "End", "Metric", "Changed"], self)
    }
}

impl<'de> serde::de::Visitor<'de> for InPlace<'_, Message<'de>> {
    type Value = ();
    expecting!("a version 6 message");

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        let (variant, access) = data.variant::<u32>()?;
        match variant {
            0 => *self.0 = begin(access.newtype_variant()?),
            1 => {
                *self.0 = Message::Function(FunctionRecord::default());
                if let Message::Function(f) = self.0 {
                    access.newtype_variant_seed(InPlace(f))?;
                }
            }
            // A struct variant's fields are written as a tuple's.
            2 => {
                let (seq, functions, metrics) = access.newtype_variant()?;
                *self.0 = Message::End { seq, functions, metrics };
            }
            3 => *self.0 = Message::Metric(access.newtype_variant()?),
            4 => {
                *self.0 = Message::Changed(ChangedRecord::default());
                if let Message::Changed(c) = self.0 {
                    access.newtype_variant_seed(InPlace(c))?;
                }
            }
            n => return Err(A::Error::invalid_value(Unexpected::Unsigned(n.into()), &self)),
        }
        Ok(())
    }
}

/// Version 6's `Begin` as the decoded one: a relative dump's build is empty (the base's).
fn begin(b: BeginV6<'_>) -> Message<'_> {
    let (build, base) = match b.since {
        Since::Whole(build) => (build, None),
        Since::Base(base) => (NO_BUILD, Some(base)),
    };
    let (device, seq, counter_bits, uptime_nanos) = (b.device, b.seq, b.counter_bits, b.uptime_nanos);
    Message::Begin(Begin { device, seq, build, counter_bits, uptime_nanos, base })
}

/// A record decoded in place from a tuple of `len` fields (postcard writes a struct's fields in
/// order, with no names): the seed and its visitor, whose `body` reads each field from `seq`
/// into `out`, counting them in `at`.
macro_rules! tuple_in_place {
    ($record:ident, $len:literal, $what:literal, |$seq:ident, $at:ident, $out:ident| $body:block) => {
        impl<'de> DeserializeSeed<'de> for InPlace<'_, $record<'de>> {
            type Value = ();
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_tuple($len, self)
            }
        }

        impl<'de> serde::de::Visitor<'de> for InPlace<'_, $record<'de>> {
            type Value = ();
            expecting!($what);

            fn visit_seq<A: SeqAccess<'de>>(self, mut $seq: A) -> Result<(), A::Error> {
                let ($out, $at) = (self.0, &mut 0);
                $body
                Ok(())
            }
        }
    };
}

// `FunctionOut`'s fields, in its order.
tuple_in_place!(FunctionRecord, 11, "a version 6 function", |seq, at, f| {
    f.function = next(&mut seq, at)?;
    f.module = next(&mut seq, at)?;
    f.objective = next(&mut seq, at)?;
    next_seed(&mut seq, at, Bounds(&mut f.bounds))?;
    // One count per bound and `+Inf`: whether the device's are, the receiver checks on the
    // dense counts as for any version.
    next_seed(&mut seq, at, Sparse { counts: &mut f.counts, buckets: Some(f.bounds.len() + 1) })?;
    f.sum_nanos = next(&mut seq, at)?;
    f.root = next(&mut seq, at)?;
    next_seed(&mut seq, at, Elements(&mut f.callers, PhantomData::<crate::model::Caller<'de>>))?;
    f.overflow = next(&mut seq, at)?;
    f.concurrent = next(&mut seq, at)?;
    f.max_nanos = next(&mut seq, at)?;
});

// `ChangedOut`'s fields, in its order.
tuple_in_place!(ChangedRecord, 8, "a version 6 changed function", |seq, at, c| {
    c.index = next(&mut seq, at)?;
    // Up to the last bucket that is not zero.
    next_seed(&mut seq, at, Sparse { counts: &mut c.counts, buckets: None })?;
    c.sum_nanos = next(&mut seq, at)?;
    c.root = next(&mut seq, at)?;
    next_seed(&mut seq, at, Elements(&mut c.callers, PhantomData::<CallerWire<'de>>))?;
    c.overflow = next(&mut seq, at)?;
    c.concurrent = next(&mut seq, at)?;
    c.max_nanos = next(&mut seq, at)?;
});

/// A function's bounds (`BoundsOut`): a preset's number, or the list.
struct Bounds<'o>(&'o mut heapless::Vec<u64, MAX_BOUNDS>);

impl<'de> DeserializeSeed<'de> for Bounds<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_enum("BoundsOut", &["Preset", "Listed"], self)
    }
}

impl<'de> serde::de::Visitor<'de> for Bounds<'_> {
    type Value = ();
    expecting!("a preset's number or bounds");

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        let (variant, access) = data.variant::<u32>()?;
        match variant {
            0 => {
                let i: u8 = access.newtype_variant()?;
                let preset = PRESETS.get(usize::from(i)).ok_or_else(|| {
                    A::Error::invalid_value(Unexpected::Unsigned(i.into()), &"a preset's number")
                })?;
                self.0.clear();
                // Every preset fits `MAX_BOUNDS`.
                self.0.extend_from_slice(preset).map_err(|_| A::Error::custom("a preset past capacity"))
            }
            1 => access.newtype_variant_seed(Elements(self.0, PhantomData::<u64>)),
            n => Err(A::Error::invalid_value(Unexpected::Unsigned(n.into()), &self)),
        }
    }
}

/// A sequence into a record's vector, each element decoded as `W` and converted: at most its
/// capacity, or the frame is refused.
struct Elements<'o, T, W, const N: usize>(&'o mut heapless::Vec<T, N>, PhantomData<W>);

impl<'de, T: From<W>, W: Deserialize<'de>, const N: usize> DeserializeSeed<'de> for Elements<'_, T, W, N> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: From<W>, W: Deserialize<'de>, const N: usize> serde::de::Visitor<'de> for Elements<'_, T, W, N> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at most {N} elements")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.clear();
        while let Some(w) = seq.next_element::<W>()? {
            if self.0.push(T::from(w)).is_err() {
                return Err(A::Error::invalid_length(N + 1, &self));
            }
        }
        Ok(())
    }
}

/// Sparse counts (`SparseOut`) expanded into dense ones: `buckets` of them, or up to the mask's
/// last bit.
struct Sparse<'o> {
    counts: &'o mut heapless::Vec<u64, { MAX_BOUNDS + 1 }>,
    buckets: Option<usize>,
}

impl<'de> DeserializeSeed<'de> for Sparse<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        // The most a mask can name; the visitor reads as many as it does.
        d.deserialize_tuple(1 + 64, self)
    }
}

impl<'de> serde::de::Visitor<'de> for Sparse<'_> {
    type Value = ();
    expecting!("a bucket mask and the counts it names");

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let at = &mut 0;
        let mask: u64 = next(&mut seq, at)?;
        let buckets = self.buckets.unwrap_or(64 - mask.leading_zeros() as usize);
        // At most 33 buckets, so the shift is in range.
        if buckets > MAX_BOUNDS + 1 || mask >> buckets != 0 {
            return Err(A::Error::invalid_value(
                Unexpected::Unsigned(mask),
                &"a mask of the buckets there are",
            ));
        }
        self.counts.clear();
        for i in 0..buckets {
            let count = if mask & 1 << i != 0 { next(&mut seq, at)? } else { 0 };
            // Within capacity: `buckets` is.
            let _ = self.counts.push(count);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::v6::{BoundsOut, FunctionOut, MessageOut, SparseOut};
    use crate::frame::MAX_CALLERS;
    use crate::model::{Caller, Totals};

    fn sparse(bytes: &[u8], buckets: Option<usize>) -> Option<std::vec::Vec<u64>> {
        let mut counts = heapless::Vec::new();
        let mut de = postcard::Deserializer::from_bytes(bytes);
        Sparse { counts: &mut counts, buckets }.deserialize(&mut de).ok()?;
        Some(counts.to_vec())
    }

    #[test]
    fn sparse_counts_expand_or_are_refused() {
        let counts = [0, 7, 0, 0, u64::MAX, 1];
        let mut buf = [0u8; 64];
        let bytes = postcard::to_slice(&SparseOut(&counts), &mut buf).unwrap();
        assert_eq!(bytes.len(), 1 + 1 + 10 + 1, "mask, three counts");
        assert_eq!(sparse(bytes, Some(6)).unwrap(), counts);
        assert_eq!(sparse(bytes, Some(7)).unwrap(), [0, 7, 0, 0, u64::MAX, 1, 0]);
        assert_eq!(sparse(bytes, None).unwrap(), counts, "up to the last bit");
        assert!(sparse(bytes, Some(5)).is_none(), "a mask bit past the buckets");
        assert!(sparse(&bytes[..bytes.len() - 1], Some(6)).is_none(), "three bits, two counts");
        assert!(sparse(bytes, Some(MAX_BOUNDS + 2)).is_none());
        let all = [1u64; 40];
        let bytes = postcard::to_slice(&SparseOut(&all), &mut buf).unwrap();
        assert!(sparse(bytes, None).is_none(), "more buckets than a record holds");
    }

    /// A function written as an encoder would, with `callers` and `bounds` as given.
    fn function(callers: &[Caller<'_>], bounds: BoundsOut<'_>) -> Result<(), postcard::Error> {
        let counts = [1u64; 3];
        let f = FunctionOut {
            function: "f",
            module: "m",
            objective: None,
            bounds,
            counts: SparseOut(&counts),
            sum_nanos: 1,
            root: Totals { ok: 1, error: 0 },
            callers,
            overflow: Totals::default(),
            concurrent: None,
            max_nanos: None,
        };
        let mut buf = [0u8; 2048];
        let bytes = postcard::to_slice(&MessageOut::Function(f), &mut buf).unwrap();
        let mut out = Message::End { seq: 0, functions: 0, metrics: 0 };
        decode_into(bytes, &mut out).map(|rest| assert!(rest.is_empty()))
    }

    #[test]
    fn past_capacity_or_an_unknown_preset_is_refused() {
        let caller = Caller { function: "g", module: "m", calls: Totals { ok: 1, error: 0 } };
        let two = [2_000u64, 4_000];
        assert!(function(&[caller; MAX_CALLERS], BoundsOut::Listed(&two)).is_ok());
        assert!(function(&[caller; MAX_CALLERS + 1], BoundsOut::Listed(&two)).is_err(), "a caller too many");
        let bounds: std::vec::Vec<u64> = (1..=MAX_BOUNDS as u64 + 1).collect();
        assert!(function(&[], BoundsOut::Listed(&bounds)).is_err(), "a bound too many");
        assert!(
            function(&[], BoundsOut::Preset(2)).is_ok(),
            "three of 21 buckets: the receiver checks the rest"
        );
        assert!(function(&[], BoundsOut::Preset(PRESETS.len() as u8)).is_err(), "no such preset");
    }
}
