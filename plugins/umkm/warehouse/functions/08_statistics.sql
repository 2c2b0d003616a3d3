-- Statistics the models need and PostgreSQL does not have.
--
-- The current definition of each function below (bootstrap re-applies this file when it
-- changes).

-- The standard normal quantile: x with P(Z < x) = p, for 0 < p < 1 (null outside). Peter
-- Acklam's rational approximation, relative error under 1.2e-9 over the whole range. Used
-- by int_entity_cluster_draws (the draws' shared factor and each pair's threshold).
create or replace function public.umkm_normal_quantile(p float8)
returns float8
language plpgsql immutable strict parallel safe
as $$
declare
    q float8;
    r float8;
begin
    if p <= 0 or p >= 1 then
        return null;
    end if;
    if p < 0.02425 or p > 1 - 0.02425 then
        q := sqrt(-2 * ln(least(p, 1 - p)));
        r := (((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q
                - 2.400758277161838e+00) * q - 2.549732539343734e+00) * q
                + 4.374664141464968e+00) * q + 2.938163982698783e+00)
            / ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q
                + 2.445134137142996e+00) * q + 3.754408661907416e+00) * q + 1);
        return case when p < 0.5 then r else -r end;
    end if;
    q := p - 0.5;
    r := q * q;
    return (((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r
            - 2.759285104469687e+02) * r + 1.383577518672690e+02) * r
            - 3.066479806614716e+01) * r + 2.506628277459239e+00) * q
        / (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r
            - 1.556989798598866e+02) * r + 6.680131188771972e+01) * r
            - 1.328068155288572e+01) * r + 1);
end
$$;
