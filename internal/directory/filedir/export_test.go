package filedir

// DecoyFor exposes decoyFor to the tests.
func DecoyFor(d *Dir, login string) string { return d.decoyFor(login) }
