//! `#[picometrics::metric]`: registers a `static` counter, gauge or histogram.

use crate::args::set;
use picometrics_schema::{check_metric_help, check_metric_label, check_metric_name, Kind};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Ident, ItemStatic, LitStr, Path, Token};

const KNOWN: &str =
    "expected one of `name = \"…\"`, `help = \"…\"`, `labels(key = \"value\", …)`, `crate = path`";

/// The attribute's arguments.
#[derive(Default)]
struct Args {
    name: Option<LitStr>,
    help: Option<LitStr>,
    labels: Vec<(Ident, LitStr)>,
    labels_given: bool,
    krate: Option<Path>,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            let key = crate::args::parse_key(input, KNOWN)?;
            let duplicate = || syn::Error::new(key.span(), format!("`{key}` is given more than once"));
            match key.to_string().as_str() {
                "name" | "help" => {
                    input.parse::<Token![=]>()?;
                    let value: LitStr = input.parse()?;
                    let field = if key == "name" { &mut args.name } else { &mut args.help };
                    set(field, value, duplicate)?;
                }
                "labels" => {
                    if std::mem::replace(&mut args.labels_given, true) {
                        return Err(duplicate());
                    }
                    let content;
                    syn::parenthesized!(content in input);
                    let pairs = Punctuated::<Label, Token![,]>::parse_terminated(&content)?;
                    args.labels = pairs.into_iter().map(|l| (l.name, l.value)).collect();
                }
                "crate" => {
                    input.parse::<Token![=]>()?;
                    set(&mut args.krate, input.parse()?, duplicate)?;
                }
                _ => return Err(syn::Error::new(key.span(), KNOWN)),
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

/// `key = "value"` inside `labels(…)`.
struct Label {
    name: Ident,
    value: LitStr,
}

impl Parse for Label {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name = input.call(Ident::parse_any_ident)?;
        input.parse::<Token![=]>()?;
        Ok(Label { name, value: input.parse()? })
    }
}

/// `syn::ext::IdentExt::parse_any` under a name that says why: label names may be keywords
/// (`type = "…"`).
trait ParseAnyIdent {
    fn parse_any_ident(input: ParseStream) -> syn::Result<Ident>;
}

impl ParseAnyIdent for Ident {
    fn parse_any_ident(input: ParseStream) -> syn::Result<Ident> {
        syn::ext::IdentExt::parse_any(input)
    }
}

/// The kind the static's type names, when it is spelled `Counter`, `Gauge` or `Histogram<N>`
/// (a path ending in one of them); an alias is checked by the `const` the expansion emits.
fn kind_of(ty: &syn::Type) -> Option<Kind> {
    let syn::Type::Path(p) = ty else { return None };
    match p.path.segments.last()?.ident.to_string().as_str() {
        "Counter" => Some(Kind::Counter),
        "Gauge" => Some(Kind::Gauge),
        "Histogram" => Some(Kind::Histogram),
        _ => None,
    }
}

/// The static's doc comment as one line of help text.
fn doc_text(item: &ItemStatic) -> String {
    let mut lines = Vec::new();
    for attr in &item.attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value {
                let line = s.value();
                let line = line.trim();
                if !line.is_empty() {
                    lines.push(line.to_owned());
                }
            }
        }
    }
    lines.join(" ")
}

/// Expands `#[picometrics::metric(...)] static NAME: Type = init;`.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(args, item.clone()) {
        Ok(out) => out,
        Err(e) => crate::expand::with_error(item, e),
    }
}

/// The constant labels' names (raw identifiers unescaped), each checked on its own span: at
/// most `MAX_METRIC_LABELS`, valid, none twice.
fn label_names(labels: &[(Ident, LitStr)]) -> syn::Result<Vec<String>> {
    if labels.len() > picometrics_schema::MAX_METRIC_LABELS {
        return Err(syn::Error::new(
            labels[picometrics_schema::MAX_METRIC_LABELS].0.span(),
            "at most 8 labels per metric",
        ));
    }
    let mut names = Vec::new();
    for (key, value) in labels {
        let key_text = syn::ext::IdentExt::unraw(key).to_string();
        check_metric_label(&key_text, &value.value()).map_err(|why| syn::Error::new(key.span(), why))?;
        if names.contains(&key_text) {
            return Err(syn::Error::new(key.span(), format!("label `{key_text}` is given more than once")));
        }
        names.push(key_text);
    }
    Ok(names)
}

fn try_expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args: Args = syn::parse2(args)?;
    let item: ItemStatic = syn::parse2(item).map_err(|e| {
        syn::Error::new(e.span(), "#[picometrics::metric] goes on a `static` counter, gauge or histogram")
    })?;
    if let syn::StaticMutability::Mut(m) = &item.mutability {
        return Err(syn::Error::new(
            m.span(),
            "a metric is a plain `static` (its value is atomic); remove `mut`",
        ));
    }
    let ident = &item.ident;
    let ty = &item.ty;
    let krate = match &args.krate {
        Some(p) => quote!(#p),
        None => quote!(::picometrics),
    };
    let private = quote!(#krate::__private_v1);

    // Name: `name = "…"`, else the static's name in lower case.
    let (name, name_span) = match &args.name {
        Some(lit) => (lit.value(), lit.span()),
        None => (ident.to_string().to_lowercase(), ident.span()),
    };
    if let Some(kind) = kind_of(ty) {
        check_metric_name(&name, kind).map_err(|why| syn::Error::new(name_span, why))?;
    }
    let (help, help_span) = match &args.help {
        Some(lit) => (lit.value(), lit.span()),
        None => (doc_text(&item), ident.span()),
    };
    check_metric_help(&help).map_err(|why| syn::Error::new(help_span, why))?;
    let label_names = label_names(&args.labels)?;
    let label_values: Vec<&LitStr> = args.labels.iter().map(|(_, v)| v).collect();
    let labels = quote!(&[#((#label_names, #label_values)),*]);

    // One symbol per series: two statics that would report the same name and labels fail to
    // link, naming the series. A counter `x_total` also claims `x`, its OpenMetrics family, so
    // a gauge or histogram `x` with the same labels fails to link beside it. (The other
    // collisions — a gauge `h_count` beside a histogram `h` — are refused by name above.)
    let labels_text = label_names
        .iter()
        .zip(&label_values)
        .map(|(k, v)| format!("{k}={:?}", v.value()))
        .collect::<Vec<_>>()
        .join(",");
    let claim = |name: &str| format!("picometrics: two metrics report the series {name}{{{labels_text}}}");
    let series = claim(&name);
    let family = name.strip_suffix(picometrics_schema::TOTAL_SUFFIX).map(|base| {
        let symbol = claim(base);
        let unique = format_ident!("__PICOMETRICS_UNIQUE_FAMILY_{}", ident);
        quote! {
            #[doc(hidden)]
            #[allow(non_upper_case_globals)]
            #[export_name = #symbol]
            static #unique: u8 = 0;
        }
    });
    let descriptor = format_ident!("__PICOMETRICS_METRIC_{}", ident);
    let unique = format_ident!("__PICOMETRICS_UNIQUE_METRIC_{}", ident);
    let check =
        quote_spanned!(name_span=> const _: () = #private::check_metric::<#ty>(#name, #help, #labels););
    let span = Span::call_site();
    Ok(quote_spanned! {span=>
        // In `.uninit` with the core's `persist` feature on bare metal, else as written.
        #private::persistent! { #item }
        #check
        #[#private::linkme::distributed_slice(#private::PICOMETRICS_METRICS)]
        #[linkme(crate = #private::linkme)]
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        static #descriptor: #private::MetricDescriptor =
            #private::MetricDescriptor::new::<#ty>(#name, #help, #labels, &#ident, &#private::METRIC_HOOKS);
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #[export_name = #series]
        static #unique: u8 = 0;
        #family
    })
}
