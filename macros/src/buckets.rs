//! A crate's default buckets: `PICOMETRICS_BUCKETS` in the environment of its compilation
//! (see `picometrics::buckets`), read when the attribute expands.

use proc_macro2::TokenStream;
use quote::quote;

/// The environment variable that sets a crate's default buckets (see `picometrics::buckets`).
const BUCKETS_VARIABLE: &str = "PICOMETRICS_BUCKETS";

/// The bounds of a function that names none, as the const `__PICOMETRICS_BOUNDS`:
/// `PICOMETRICS_BUCKETS` of this crate's compilation (a preset or a list of nanoseconds), else
/// autometrics' defaults. The
/// `option_env!` records the variable as an input of the crate, so cargo rebuilds it when the
/// variable changes (a proc macro's own reads are not tracked); a bad value is a compile error
/// naming it.
pub fn crate_default(private: &TokenStream) -> TokenStream {
    let track = quote!(
        const _: ::core::option::Option<&str> = ::core::option_env!(#BUCKETS_VARIABLE);
    );
    let bounds = match std::env::var(BUCKETS_VARIABLE) {
        Err(_) => quote!(#private::buckets::DEFAULT),
        Ok(value) => match value.trim() {
            "default" | "DEFAULT" | "" => quote!(#private::buckets::DEFAULT),
            "hot_path" | "HOT_PATH" => quote!(#private::buckets::HOT_PATH),
            "firmware" | "FIRMWARE" => quote!(#private::buckets::FIRMWARE),
            list => {
                let nanos: Result<Vec<u64>, _> =
                    list.split(',').map(|n| n.trim().replace('_', "").parse::<u64>()).collect();
                match nanos {
                    Ok(nanos) => quote!([#(#nanos),*]),
                    Err(_) => {
                        let message = format!(
                            "{BUCKETS_VARIABLE}={value:?} is neither `hot_path`, `firmware`, `default` nor a \
                             comma-separated list of nanoseconds (e.g. `100,1000,10000`)"
                        );
                        return quote! {
                            ::core::compile_error!(#message);
                            const __PICOMETRICS_BOUNDS: [u64; 14] = #private::buckets::DEFAULT;
                        };
                    }
                }
            }
        },
    };
    quote! {
        #track
        const __PICOMETRICS_BOUNDS: [u64; { #bounds.len() }] = #bounds;
    }
}
