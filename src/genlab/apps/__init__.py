"""Applications built on the genlab core: the CLI, the web studio, reports and model cards, run
comparison, domain adaptation, file translation and the demo. The core never imports this package."""
