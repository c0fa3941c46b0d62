//! The body of a `#[track_caller]` function, made to run inline so `Location::caller()` still
//! names the caller: its `return`s and `?`s rewritten to leave a labeled block.

use proc_macro2::TokenStream;
use quote::quote;
use syn::visit_mut::VisitMut;
use syn::{Block, Item};

/// A function body made to run inline: `return e` becomes `break '__picometrics_body e` and
/// `e?` a match that breaks with the residual, except inside closures, async blocks and nested
/// items, whose `return` and `?` are their own.
pub(crate) struct InlineBody<'p> {
    private: &'p TokenStream,
}

impl InlineBody<'_> {
    pub(crate) fn rewrite(block: &Block, private: &TokenStream) -> Block {
        let mut block = block.clone();
        InlineBody { private }.visit_block_mut(&mut block);
        block
    }
}

impl VisitMut for InlineBody<'_> {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        let private = self.private;
        match expr {
            syn::Expr::Closure(_) | syn::Expr::Async(_) | syn::Expr::Const(_) => {}
            syn::Expr::Return(r) => {
                if let Some(value) = &mut r.expr {
                    self.visit_expr_mut(value);
                }
                let value = r.expr.as_ref().map_or_else(|| quote!(()), |v| quote!(#v));
                // Parenthesized: a value starting with `::` would read as a label's colon.
                *expr = syn::parse_quote_spanned!(r.return_token.span=> break '__picometrics_body (#value));
            }
            syn::Expr::Try(t) => {
                self.visit_expr_mut(&mut t.expr);
                let inner = &t.expr;
                *expr = syn::parse_quote_spanned!(t.question_token.span=>
                    match #private::Branch::branch(#inner) {
                        #private::ControlFlow::Continue(v) => v,
                        #private::ControlFlow::Break(r) => break '__picometrics_body (#private::FromResidual::from_residual(r)),
                    }
                );
            }
            _ => syn::visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _: &mut Item) {
        // A nested fn, impl or const has its own `return`s.
    }
}
