//! Parsing and validation of `#[picometrics(...)]` arguments.

use picometrics_schema::MAX_CALLERS;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitInt, Path, Token};

const KNOWN: &str =
    "expected one of `objective = CONST`, `track_concurrency`, `track_max`, `ok_if = path`, `error_if = path`, \
     `buckets = CONST`, `callers = N`, `cancelled = error|ok|skip`, `struct_name = \"Type\"`, \
     `skip`, `crate = path`";

pub use picometrics_schema::Cancelled;

/// How a call's result is classified.
#[derive(Clone)]
pub enum Classifier {
    /// The call is ok exactly when `path(&result)` is true.
    OkIf(Expr),
    /// The call is an error exactly when `path(&result)` is true.
    ErrorIf(Expr),
}

/// The arguments of one attribute; every field is optional so impl-level and method-level
/// arguments can be merged.
#[derive(Clone, Default)]
pub struct Args {
    pub objective: Option<Expr>,
    pub track_concurrency: Option<Span>,
    pub track_max: Option<Span>,
    pub classifier: Option<(Span, Classifier)>,
    pub buckets: Option<Expr>,
    pub callers: Option<LitInt>,
    pub cancelled: Option<Cancelled>,
    pub struct_name: Option<syn::LitStr>,
    pub skip: Option<Span>,
    pub krate: Option<Path>,
}

impl Args {
    /// `self` with the fields `inner` sets replaced (method arguments override impl arguments).
    pub fn merged(&self, inner: &Args) -> Args {
        Args {
            objective: inner.objective.clone().or_else(|| self.objective.clone()),
            track_concurrency: inner.track_concurrency.or(self.track_concurrency),
            track_max: inner.track_max.or(self.track_max),
            classifier: inner.classifier.clone().or_else(|| self.classifier.clone()),
            buckets: inner.buckets.clone().or_else(|| self.buckets.clone()),
            callers: inner.callers.clone().or_else(|| self.callers.clone()),
            cancelled: inner.cancelled.or(self.cancelled),
            struct_name: inner.struct_name.clone().or_else(|| self.struct_name.clone()),
            skip: inner.skip,
            krate: inner.krate.clone().or_else(|| self.krate.clone()),
        }
    }

    /// The path generated code uses for the library.
    pub fn krate(&self) -> TokenStream {
        match &self.krate {
            Some(p) => quote!(#p),
            None => quote!(::picometrics),
        }
    }
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = Args::default();
        for arg in Punctuated::<Arg, Token![,]>::parse_terminated(input)? {
            arg.apply(&mut args)?;
        }
        Ok(args)
    }
}

/// One `key` or `key = value`.
struct Arg {
    key: Ident,
    value: Option<Expr>,
}

/// An argument's key: an identifier, or `crate` (a keyword). Both attributes parse keys with
/// it, so they accept and refuse the same spellings; `known` lists the keys for the error.
pub fn parse_key(input: ParseStream, known: &str) -> syn::Result<Ident> {
    if input.peek(Token![crate]) {
        let kw: Token![crate] = input.parse()?;
        Ok(Ident::new("crate", kw.span))
    } else {
        input.parse::<Ident>().map_err(|e| syn::Error::new(e.span(), known))
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = parse_key(input, KNOWN)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Arg { key, value })
    }
}

impl Arg {
    fn apply(self, args: &mut Args) -> syn::Result<()> {
        let span = self.key.span();
        let name = self.key.to_string();
        let duplicate = || syn::Error::new(span, format!("`{name}` is given more than once"));
        match name.as_str() {
            "track_concurrency" | "track_max" | "skip" => {
                if let Some(v) = self.value {
                    return Err(syn::Error::new_spanned(v, format!("`{name}` takes no value")));
                }
                let field = match name.as_str() {
                    "skip" => &mut args.skip,
                    "track_max" => &mut args.track_max,
                    _ => &mut args.track_concurrency,
                };
                set(field, span, duplicate)
            }
            "objective" | "buckets" | "ok_if" | "error_if" | "callers" | "crate" | "cancelled"
            | "struct_name" => {
                let value = self.value.ok_or_else(|| {
                    syn::Error::new(span, format!("`{name}` needs a value: `{name} = ...`"))
                })?;
                match name.as_str() {
                    "objective" => set(&mut args.objective, value, duplicate),
                    "buckets" => set(&mut args.buckets, value, duplicate),
                    "callers" => set(&mut args.callers, callers(value)?, duplicate),
                    "cancelled" => set(&mut args.cancelled, cancelled(value)?, duplicate),
                    "struct_name" => set(&mut args.struct_name, struct_name(value)?, duplicate),
                    "crate" => set(&mut args.krate, crate_path(value)?, duplicate),
                    _ => set_classifier(args, &name, span, value),
                }
            }
            _ => Err(syn::Error::new(span, format!("unknown argument `{name}`; {KNOWN}"))),
        }
    }
}

/// `callers = N`: an integer literal up to `MAX_CALLERS`, re-emitted unsuffixed (`callers =
/// 3u8` means 3 edges, and the slot's const parameter is a `usize`).
fn callers(value: Expr) -> syn::Result<LitInt> {
    let lit = match value {
        Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) => i,
        other => {
            return Err(syn::Error::new_spanned(
                other,
                format!("`callers` takes an integer literal (0 to {MAX_CALLERS})"),
            ))
        }
    };
    let n: usize = lit.base10_parse()?;
    if n > MAX_CALLERS {
        return Err(syn::Error::new(lit.span(), format!("`callers` must be at most {MAX_CALLERS}")));
    }
    let mut unsuffixed = syn::LitInt::from(proc_macro2::Literal::usize_unsuffixed(n));
    unsuffixed.set_span(lit.span());
    Ok(unsuffixed)
}

/// `cancelled = error|ok|skip`.
fn cancelled(value: Expr) -> syn::Result<Cancelled> {
    let choice = match &value {
        Expr::Path(p) => Cancelled::ALL.iter().find(|(name, _)| p.path.is_ident(name)),
        _ => None,
    };
    match choice {
        Some(&(_, choice)) => Ok(choice),
        None => {
            Err(syn::Error::new_spanned(value, "`cancelled` takes `error` (the default), `ok` or `skip`"))
        }
    }
}

/// `struct_name = "Type"` (or a bare identifier).
fn struct_name(value: Expr) -> syn::Result<syn::LitStr> {
    match value {
        Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Ok(s),
        Expr::Path(p) if p.path.get_ident().is_some() => {
            let ident = p.path.get_ident().expect("checked");
            Ok(syn::LitStr::new(&ident.to_string(), ident.span()))
        }
        other => Err(syn::Error::new_spanned(
            other,
            "`struct_name` takes the type's name: `struct_name = \"Database\"`",
        )),
    }
}

/// `crate = path`.
fn crate_path(value: Expr) -> syn::Result<Path> {
    match value {
        Expr::Path(p) => Ok(p.path),
        other => Err(syn::Error::new_spanned(other, "`crate` takes a path")),
    }
}

/// `ok_if = path` or `error_if = path`: one of them, once.
fn set_classifier(args: &mut Args, name: &str, span: Span, value: Expr) -> syn::Result<()> {
    if let Some((_, existing)) = &args.classifier {
        let msg = match existing {
            Classifier::OkIf(_) if name == "error_if" => {
                "`ok_if` and `error_if` cannot be used together".to_owned()
            }
            Classifier::ErrorIf(_) if name == "ok_if" => {
                "`ok_if` and `error_if` cannot be used together".to_owned()
            }
            _ => format!("`{name}` is given more than once"),
        };
        return Err(syn::Error::new(span, msg));
    }
    let classifier = if name == "ok_if" { Classifier::OkIf(value) } else { Classifier::ErrorIf(value) };
    args.classifier = Some((span, classifier));
    Ok(())
}

/// Sets an argument given once; `duplicate` is the error for a second time. Both attributes
/// use it.
pub fn set<T>(field: &mut Option<T>, value: T, duplicate: impl FnOnce() -> syn::Error) -> syn::Result<()> {
    if field.is_some() {
        return Err(duplicate());
    }
    *field = Some(value);
    Ok(())
}
