// Stands in for the style sheets @grafana/ui imports (an empty module)
// and for react-inlinesvg, whose icons would be fetched over the network:
// its default export renders nothing.
module.exports = { __esModule: true, default: () => null };
