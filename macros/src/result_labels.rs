//! `#[derive(ResultLabels)]`: which variants of an error enum are errors.

use picometrics_schema::{RESULT_ERROR, RESULT_OK};
use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, LitStr};

/// `#[label(result = "ok" | "error")]` on `attrs`, if there: whether it says error. Errors
/// point at the attribute or its value.
fn label(attrs: &[Attribute]) -> syn::Result<Option<bool>> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("label")) {
        if found.is_some() {
            return Err(syn::Error::new(attr.span(), "`#[label]` is given more than once"));
        }
        attr.parse_nested_meta(|meta| {
            if !meta.path.is_ident("result") {
                return Err(meta.error("expected `result = \"ok\"` or `result = \"error\"`"));
            }
            let value: LitStr = meta.value()?.parse()?;
            found = Some(match value.value().as_str() {
                RESULT_OK => false,
                RESULT_ERROR => true,
                other => {
                    return Err(syn::Error::new(
                        value.span(),
                        format!(
                            "`{other}` is not a result label: expected \"{RESULT_OK}\" or \"{RESULT_ERROR}\""
                        ),
                    ))
                }
            });
            Ok(())
        })?;
    }
    Ok(found)
}

pub fn derive(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    // The derive has no `crate = path`: a helper attribute named `picometrics` would be
    // ambiguous with the attribute macro wherever that is in scope.
    let krate = quote!(::picometrics);
    let name = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    // A label on the type is the default of its variants (a struct has only that one).
    let default = label(&input.attrs)?.unwrap_or(true);
    let body = match &input.data {
        Data::Enum(data) => {
            let mut arms = Vec::new();
            for variant in &data.variants {
                let is_error = label(&variant.attrs)?.unwrap_or(default);
                let v = &variant.ident;
                let pattern = match &variant.fields {
                    Fields::Named(_) => quote!(Self::#v { .. }),
                    Fields::Unnamed(_) => quote!(Self::#v(..)),
                    Fields::Unit => quote!(Self::#v),
                };
                arms.push(quote!(#pattern => #is_error,));
            }
            if arms.is_empty() {
                // An enum without variants has no values.
                quote!(match *self {})
            } else {
                quote!(match self { #(#arms)* })
            }
        }
        Data::Struct(_) => quote!(#default),
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span(),
                "`ResultLabels` is derived for enums (a label per variant) and structs",
            ))
        }
    };
    Ok(quote! {
        impl #impl_generics #krate::ResultLabels for #name #type_generics #where_clause {
            #[inline(always)]
            fn is_error(&self) -> bool {
                #body
            }
        }
    })
}
